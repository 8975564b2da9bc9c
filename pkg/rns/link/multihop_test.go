package link

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// TestLinkThroughTransportNode establishes a link across a Reticle
// transport node (A - T - B): the request travels in transport (HEADER_2),
// T validates and relays the proof, and link traffic follows T's link table.
func TestLinkThroughTransportNode(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	mk := func(tm bool) *transport.Transport {
		id, _ := identity.Generate()
		tr, err := transport.New(transport.Options{Identity: id, Clock: clk, Transport: tm, Rand: func() float64 { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	ta, tt, tb := mk(false), mk(true), mk(false)
	a1 := testkit.NewPipe("a1", 500)
	t1 := testkit.NewPipe("t1", 500)
	t2 := testkit.NewPipe("t2", 500)
	b2 := testkit.NewPipe("b2", 500)
	testkit.Connect(a1, t1)
	testkit.Connect(t2, b2)
	owner := map[*testkit.Pipe]*transport.Transport{a1: ta, t1: tt, t2: tt, b2: tb}
	for i, tr := range owner {
		tr.Attach(i)
	}
	pump := func() {
		for range 100000 {
			moved := false
			for _, i := range []*testkit.Pipe{a1, t1, t2, b2} {
				for _, f := range i.Take() {
					moved = true
					owner[i.Peer()].Inbound(i.Peer(), f)
				}
			}
			if !moved {
				return
			}
		}
		t.Fatal("pump did not settle")
	}
	ma, _ := New(Options{Transport: ta, Clock: clk})
	mb, _ := New(Options{Transport: tb, Clock: clk})
	ta.SetLinkHandler(ma)
	tb.SetLinkHandler(mb)
	destID, _ := identity.Generate()
	dest, err := tb.Register(transport.DestinationConfig{Identity: destID, App: "reticle_test", Aspects: []string{"hop"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []*Resource
	n := 0
	cfg := acceptAll(&got, &n)
	cfg.Handlers = []Handler{{Path: "/echo", Handle: echo}}
	if err := mb.Listen(dest, cfg); err != nil {
		t.Fatal(err)
	}
	if err := tb.Announce(dest, nil); err != nil {
		t.Fatal(err)
	}
	pump()
	for range 10 { // let T rebroadcast the announce
		clk.Advance(time.Second)
		tt.RunJobs()
		pump()
	}
	pi, ok := ta.Path(dest.Hash())
	if !ok || pi.Hops != 2 {
		t.Fatalf("path %+v %v", pi, ok)
	}
	la, err := ma.Open(dest.Hash(), Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	pump()
	if la.Status() != StatusActive {
		t.Fatalf("link through transport node: %s", la.Status())
	}
	rr, err := la.Request("/echo", msgpack.Str("via T"), RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pump()
	v, err := rr.Response()
	if s, _ := v.AsStr(); err != nil || s != "via T" {
		t.Fatalf("response %v", err)
	}
	data := make([]byte, 30_000)
	_, _ = rand.Read(data)
	r, err := la.SendResource(data, ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pump()
	if r.Err() != nil || len(got) != 1 || !bytes.Equal(got[0].Data(), data) {
		t.Fatalf("resource via T: %v", r.Err())
	}
	if err := la.Close(); err != nil {
		t.Fatal(err)
	}
	pump()
	if lb, ok := mb.Link(la.ID()); ok {
		t.Fatalf("responder link still open: %s", lb.Status())
	}
}
