package iface

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
)

func startUDP(t *testing.T, name, listen, forward string, h Handler) *UDP {
	t.Helper()
	u, err := NewUDP(name, listen, forward, Options{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func TestUDPPair(t *testing.T) {
	// Bind a with no peer yet, then b forwarding to a, then point a at b
	// by building it again with b's port.
	ra, rb := newRecorder(), newRecorder()
	b := startUDP(t, "b", "127.0.0.1:0", "", rb)
	a := startUDP(t, "a", "127.0.0.1:0", b.LocalAddr().String(), ra)
	b2 := startUDP(t, "b2", "", a.LocalAddr().String(), rb)
	if e := ra.next(t, "attach"); e.i != a {
		t.Fatalf("attached %v", e.i)
	}
	for n := range byte(5) {
		if err := a.Send(packet(n)); err != nil {
			t.Fatal(err)
		}
		e := rb.next(t, "frame")
		if e.i != b || !bytes.Equal(e.frame, packet(n)) {
			t.Fatalf("frame %d: got %x on %s", n, e.frame, e.i.Name())
		}
	}
	if err := b2.Send(packet(9)); err != nil {
		t.Fatal(err)
	}
	if e := ra.next(t, "frame"); !bytes.Equal(e.frame, packet(9)) {
		t.Fatalf("reverse frame %x", e.frame)
	}
	st := a.Stats()
	if st.PacketsOut != 5 || st.PacketsIn != 1 || st.BytesOut != 5*30 || st.Kind != "udp" || st.State != "up" {
		t.Fatalf("stats %+v", st)
	}
	if got := b.Stats().PacketsIn; got != 5 {
		t.Fatalf("b received %d", got)
	}
}

func TestUDPLimits(t *testing.T) {
	r := newRecorder()
	u := startUDP(t, "u", "127.0.0.1:0", "127.0.0.1:9", r)
	if err := u.Send(make([]byte, UDPHardwareMTU+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversize send: %v", err)
	}
	// An oversized datagram is dropped and counted; a good one follows.
	c, err := net.Dial("udp", u.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write(make([]byte, 2000)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(packet(1)); err != nil {
		t.Fatal(err)
	}
	if e := r.next(t, "frame"); !bytes.Equal(e.frame, packet(1)) {
		t.Fatalf("frame %x", e.frame)
	}
	if m := u.Stats().Malformed; m != 1 {
		t.Fatalf("malformed %d", m)
	}
	ro := startUDP(t, "rx-only", "127.0.0.1:0", "", r)
	if err := ro.Send(packet(1)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send on receive-only: %v", err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	r.next(t, "detach")
	if err := u.Send(packet(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := NewUDP("x", "", "", Options{Handler: r}); err == nil {
		t.Fatal("no addresses accepted")
	}
}

func TestUDPFromURI(t *testing.T) {
	s, err := Parse("udp://127.0.0.1:0?forward=127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Options{Handler: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := i.(*UDP); !ok || u.MTU() != UDPHardwareMTU || u.Name() != "udp/127.0.0.1:0" {
		t.Fatalf("built %T %v", i, i.Name())
	}
}
