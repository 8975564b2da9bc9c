package iface

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

type event struct {
	kind  string
	i     Interface
	frame []byte
}

type recorder struct {
	events chan event
}

func newRecorder() *recorder { return &recorder{events: make(chan event, 1024)} }

func (r *recorder) Attach(i Interface) { r.events <- event{kind: "attach", i: i} }
func (r *recorder) Detach(i Interface) { r.events <- event{kind: "detach", i: i} }
func (r *recorder) Inbound(i Interface, frame []byte) {
	r.events <- event{kind: "frame", i: i, frame: frame}
}

func (r *recorder) next(t *testing.T, kind string) event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

func packet(n byte) []byte { return bytes.Repeat([]byte{n, 0x7e, 0x7d}, 10) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func startServer(t *testing.T, addr string, h Handler) *TCPServer {
	t.Helper()
	s, err := NewTCPServer("srv", addr, Options{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestTCPClientServerExchange(t *testing.T) {
	base := runtime.NumGoroutine()
	srvRec, cliRec := newRecorder(), newRecorder()
	srv := startServer(t, "127.0.0.1:0", srvRec)
	cli, err := NewTCPClient("cli", srv.Addr().String(), Options{Handler: cliRec, MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := cliRec.next(t, "attach"); e.i != cli {
		t.Fatal("client attached something else")
	}
	peer := srvRec.next(t, "attach").i
	if peer.Parent() != srv {
		t.Fatal("spawned interface has wrong parent")
	}
	waitFor(t, "client up", func() bool { return cli.State() == StateUp })

	if err := cli.Send(packet(1)); err != nil {
		t.Fatal(err)
	}
	if e := srvRec.next(t, "frame"); e.i != peer || !bytes.Equal(e.frame, packet(1)) {
		t.Fatalf("server got %x from %v", e.frame, e.i.Name())
	}
	if err := srv.Send(packet(2)); err != nil {
		t.Fatal(err)
	}
	if e := cliRec.next(t, "frame"); !bytes.Equal(e.frame, packet(2)) {
		t.Fatalf("client got %x", e.frame)
	}
	waitFor(t, "client tx counted", func() bool { return cli.Stats().PacketsOut == 1 })
	st := cli.Stats()
	if st.PacketsIn != 1 || st.PacketsOut != 1 || st.BytesIn == 0 || st.BytesOut == 0 || st.State != "up" {
		t.Fatalf("client stats %+v", st)
	}
	waitFor(t, "server tx counted", func() bool { return srv.Stats().PacketsOut == 1 })
	if ss := srv.Stats(); ss.Clients != 1 || ss.PacketsIn != 1 || ss.PacketsOut != 1 {
		t.Fatalf("server stats %+v", ss)
	}
	if err := cli.Send(make([]byte, TCPHardwareMTU+1)); err == nil {
		t.Fatal("oversize send accepted")
	}

	_ = cli.Close()
	if e := cliRec.next(t, "detach"); e.i != cli {
		t.Fatal("wrong detach")
	}
	if e := srvRec.next(t, "detach"); e.i != peer {
		t.Fatal("server did not detach the peer")
	}
	if err := cli.Send(packet(3)); err == nil {
		t.Fatal("send after close succeeded")
	}
	_ = srv.Close()
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })
}

func TestTCPClientReconnects(t *testing.T) {
	// Reserve a port, then close it so the first dials fail.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	cliRec := newRecorder()
	cli, err := NewTCPClient("cli", addr, Options{Handler: cliRec, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	if err := cli.Send(packet(1)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send while down: %v", err)
	}
	waitFor(t, "failed attempts", func() bool { return cli.Stats().Reconnects >= 2 })

	srvRec := newRecorder()
	srv := startServer(t, addr, srvRec)
	srvRec.next(t, "attach")
	waitFor(t, "client up", func() bool { return cli.State() == StateUp })

	// Kill the server: the client must notice and come back to a new one.
	_ = srv.Close()
	waitFor(t, "client down", func() bool { return cli.State() != StateUp })
	srv2Rec := newRecorder()
	startServer(t, addr, srv2Rec)
	srv2Rec.next(t, "attach")
	waitFor(t, "client up again", func() bool { return cli.State() == StateUp })
	if err := cli.Send(packet(9)); err != nil {
		t.Fatal(err)
	}
	if e := srv2Rec.next(t, "frame"); !bytes.Equal(e.frame, packet(9)) {
		t.Fatalf("got %x", e.frame)
	}
}

func TestTCPServerCountsMalformed(t *testing.T) {
	rec := newRecorder()
	srv := startServer(t, "127.0.0.1:0", rec)
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	peer := rec.next(t, "attach").i
	var stream []byte
	stream = append(stream, 0x7e, 1, 2, 3) // too short (<= MinFrameSize)
	stream = append(stream, 0x7e)
	stream = append(stream, bytes.Repeat([]byte{5}, 30)...)
	stream = append(stream, 0x7d, 0x01, 0x7e) // bad escape
	stream = AppendFrame(stream, packet(4))
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	if e := rec.next(t, "frame"); !bytes.Equal(e.frame, packet(4)) {
		t.Fatalf("got %x", e.frame)
	}
	if st := peer.Stats(); st.Malformed != 2 || st.PacketsIn != 1 {
		t.Fatalf("peer stats %+v", st)
	}
	if st := srv.Stats(); st.Malformed != 2 {
		t.Fatalf("server stats %+v", st)
	}
}

func TestCloseCancelsPendingDial(t *testing.T) {
	// The dial is held open until its context ends (a stand-in for a SYN that
	// is never answered, without leaving loopback); Close must not wait for
	// the dial timeout.
	cli, err := NewTCPClient("cli", "127.0.0.1:9", Options{Handler: newRecorder(), DialTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dialing := make(chan struct{})
	cli.dial = func(ctx context.Context, _ string) (net.Conn, error) {
		close(dialing)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := cli.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-dialing
	done := make(chan struct{})
	go func() { _ = cli.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a pending dial")
	}
}

func TestTCPClientReportsLastError(t *testing.T) {
	// A closed loopback port: every dial is refused, and the stats say so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cli, err := NewTCPClient("cli", addr, Options{Handler: newRecorder(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	waitFor(t, "a refused dial", func() bool { return strings.Contains(cli.Stats().LastError, "refused") })

	// Once connected the error is gone; when the server goes away it names that.
	srvRec := newRecorder()
	srv := startServer(t, addr, srvRec)
	srvRec.next(t, "attach")
	waitFor(t, "client up", func() bool { return cli.State() == StateUp })
	if e := cli.Stats().LastError; e != "" {
		t.Fatalf("last error while up: %q", e)
	}
	_ = srv.Close()
	waitFor(t, "an error after the server closed", func() bool { return cli.Stats().LastError != "" })
}
