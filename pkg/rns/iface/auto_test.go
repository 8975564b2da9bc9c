package iface

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"
)

// TestAutoVectors compares the discovery group and token with the
// reference AutoInterface (testdata/auto-vectors.json, written by
// testdata/auto_vectors.py from rns 1.5.7).
func TestAutoVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/auto-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		GroupID   string `json:"group_id"`
		Mcast     string `json:"multicast_address"`
		SentTo    string `json:"sent_to"`
		DiscPort  int    `json:"discovery_port"`
		DataPort  int    `json:"data_port"`
		LinkLocal string `json:"link_local_address"`
		Token     string `json:"discovery_token"`
	}
	if err := json.Unmarshal(b, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for _, v := range vs {
		got := AutoMulticastAddress(v.GroupID)
		if !got.Equal(net.ParseIP(v.Mcast)) || got.String() != v.Mcast || v.SentTo != v.Mcast {
			t.Errorf("%q: multicast %s, want %s", v.GroupID, got, v.Mcast)
		}
		tok := AutoDiscoveryToken(v.GroupID, net.ParseIP(v.LinkLocal))
		if hex.EncodeToString(tok[:]) != v.Token {
			t.Errorf("%q/%s: token %x, want %s", v.GroupID, v.LinkLocal, tok, v.Token)
		}
		if v.DiscPort != DefaultDiscoveryPort || v.DataPort != DefaultAutoDataPort {
			t.Errorf("ports %d/%d", v.DiscPort, v.DataPort)
		}
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestAutoPeering drives discovery, data and timeouts without sockets.
func TestAutoPeering(t *testing.T) {
	spec, err := Parse("auto://?group_id=test")
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	a, err := NewAuto(spec, Options{Handler: r})
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a.now = clk.now
	own, peerIP := net.ParseIP("fe80::1"), net.ParseIP("fe80::2")
	d := &autoDevice{ifi: net.Interface{Name: "veth0", Index: 7}, lla: own}
	a.devices = []*autoDevice{d}

	tok := func(ip net.IP) []byte { x := AutoDiscoveryToken("test", ip); return x[:] }
	a.discovered(d, own, tok(own)) // our own echo
	bad := tok(peerIP)
	bad[0] ^= 1
	a.discovered(d, peerIP, bad)
	other := AutoDiscoveryToken("other-group", peerIP)
	a.discovered(d, peerIP, other[:])
	if n := len(a.Clients()); n != 0 || a.Stats().Malformed != 2 {
		t.Fatalf("peers %d, malformed %d", n, a.Stats().Malformed)
	}
	a.discovered(d, peerIP, tok(peerIP))
	a.discovered(d, peerIP, tok(peerIP)) // refresh, not a second peer
	e := r.next(t, "attach")
	p, ok := e.i.(*autoPeer)
	if !ok || p.Parent() != a || !p.addr.Equal(peerIP) || p.dst.Zone != "veth0" || p.dst.Port != DefaultAutoDataPort {
		t.Fatalf("attached %v", e.i.Name())
	}
	if len(a.Clients()) != 1 {
		t.Fatalf("peers %d", len(a.Clients()))
	}

	// Data from the peer is delivered once, even if it arrives again over
	// another device within the reference's 0.75 s window.
	a.received(peerIP, packet(1))
	a.received(peerIP, packet(1))
	a.received(net.ParseIP("fe80::99"), packet(2)) // not a peer
	if f := r.next(t, "frame"); f.i != p || !bytes.Equal(f.frame, packet(1)) {
		t.Fatalf("frame %x on %s", f.frame, f.i.Name())
	}
	clk.t = clk.t.Add(time.Second)
	a.received(peerIP, packet(1))
	if f := r.next(t, "frame"); !bytes.Equal(f.frame, packet(1)) {
		t.Fatalf("frame %x", f.frame)
	}
	if st := p.Stats(); st.PacketsIn != 2 || st.Kind != "auto-peer" {
		t.Fatalf("peer stats %+v", st)
	}

	// A peer heard within the timeout stays; a silent one is detached.
	clk.t = clk.t.Add(20 * time.Second)
	a.peerJobs(clk.now())
	if len(a.Clients()) != 1 {
		t.Fatal("peer dropped early")
	}
	clk.t = clk.t.Add(3 * time.Second)
	a.peerJobs(clk.now())
	if e := r.next(t, "detach"); e.i != p || len(a.Clients()) != 0 {
		t.Fatalf("detached %v", e.i.Name())
	}
	if err := p.Send(packet(1)); err == nil {
		t.Fatal("send to a timed-out peer succeeded")
	}
}

func TestAutoFromURI(t *testing.T) {
	s, err := Parse("auto://?group_id=g&devices=reticle-none0")
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Options{Handler: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := i.(*Auto); !ok || a.MTU() != AutoHardwareMTU || !a.MulticastAddress().Equal(AutoMulticastAddress("g")) {
		t.Fatalf("built %T", i)
	}
	// No usable device: the interface starts, stays down and closes cleanly.
	if err := i.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if i.State() != StateDown || len(i.(*Auto).Devices()) != 0 {
		t.Fatalf("state %v", i.State())
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
