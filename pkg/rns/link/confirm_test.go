package link

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// confirmer is a Confirm/ConfirmResource hook with a switchable answer
// that records what it saw; it calls back into the link to prove the hook
// runs without the link's lock.
type confirmer struct {
	mu   sync.Mutex
	ok   bool
	data [][]byte
	res  []*Resource
}

func (c *confirmer) set(ok bool) { c.mu.Lock(); c.ok = ok; c.mu.Unlock() }

func (c *confirmer) packet(l *Link, data []byte) bool {
	_ = l.Status() // takes l.mu: deadlocks if the hook ran under the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = append(c.data, append([]byte(nil), data...))
	return c.ok
}

func (c *confirmer) resource(l *Link, r *Resource) bool {
	_ = l.MDU()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res = append(c.res, r)
	return c.ok
}

func TestConfirmPacket(t *testing.T) {
	c := &confirmer{}
	var seen [][]byte
	p := newPair(t, 500, Options{}, ListenConfig{ProveAll: true, Confirm: c.packet,
		Callbacks: Callbacks{Packet: func(_ *Link, d []byte) { seen = append(seen, d) }}})
	la, _ := p.open(Callbacks{})

	c.set(false)
	r, err := la.SendWithReceipt([]byte("not stored"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.pump()
	if r.Delivered() {
		t.Fatal("proven although the hook refused")
	}
	p.advance(2 * time.Second)
	if r.Delivered() || !errors.Is(r.Err(), ErrTimeout) {
		t.Fatalf("refused packet: delivered %v err %v", r.Delivered(), r.Err())
	}

	c.set(true)
	r, err = la.SendWithReceipt([]byte("stored"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.pump()
	if !r.Delivered() || r.Err() != nil {
		t.Fatalf("confirmed packet: delivered %v err %v", r.Delivered(), r.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.data) != 2 || string(c.data[0]) != "not stored" || string(c.data[1]) != "stored" {
		t.Fatalf("hook saw %q", c.data)
	}
	if len(seen) != 2 {
		t.Fatalf("Packet callback ran %d times, want 2", len(seen))
	}
}

func TestConfirmPacketWithoutProveAll(t *testing.T) {
	c := &confirmer{ok: true}
	p := newPair(t, 500, Options{}, ListenConfig{Confirm: c.packet})
	la, _ := p.open(Callbacks{})
	r, err := la.SendWithReceipt([]byte("x"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.pump()
	if r.Delivered() || len(c.data) != 0 {
		t.Fatalf("without ProveAll: delivered %v, hook calls %d", r.Delivered(), len(c.data))
	}
}

func TestConfirmResource(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
		size int
	}{
		{"one part", 500, 300},
		{"three segments", 262144, 2*MaxSegmentSize + 1000},
	} {
		for _, ok := range []bool{true, false} {
			name := tc.name + "/refused"
			if ok {
				name = tc.name + "/confirmed"
			}
			t.Run(name, func(t *testing.T) {
				c := &confirmer{ok: ok}
				var got []*Resource
				var order []string
				p := newPair(t, tc.mtu, Options{}, ListenConfig{ConfirmResource: func(l *Link, r *Resource) bool {
					order = append(order, "confirm")
					if r.Status() != ResourceComplete || r.Err() != nil {
						t.Errorf("hook saw status %v err %v", r.Status(), r.Err())
					}
					return c.resource(l, r)
				}, Callbacks: Callbacks{
					ResourceAdvertised: func(*Link, *Advertisement) bool { return true },
					ResourceConcluded: func(_ *Link, r *Resource) {
						order = append(order, "concluded")
						got = append(got, r)
					},
				}})
				la, _ := p.open(Callbacks{})
				lb, _ := p.b.Link(la.ID())
				for _, l := range []*Link{la, lb} {
					l.mu.Lock()
					l.mtu, l.mdu = tc.mtu, mduFor(tc.mtu)
					l.mu.Unlock()
				}
				data := make([]byte, tc.size)
				_, _ = rand.Read(data)
				r, err := la.SendResource(data, ResourceOptions{})
				if err != nil {
					t.Fatal(err)
				}
				p.pump()
				if len(c.res) != 1 || !bytes.Equal(c.res[0].Data(), data) {
					t.Fatalf("hook calls %d, data intact %v", len(c.res), len(c.res) == 1 && bytes.Equal(c.res[0].Data(), data))
				}
				if len(order) != 2 || order[0] != "confirm" || order[1] != "concluded" {
					t.Fatalf("order %v", order)
				}
				if ok {
					if r.Status() != ResourceComplete || r.Err() != nil {
						t.Fatalf("confirmed: sender status %v err %v", r.Status(), r.Err())
					}
					return
				}
				if r.Status() == ResourceComplete {
					t.Fatal("sender concluded a refused resource as proven")
				}
				for range 200 {
					if closed(r.Done()) {
						break
					}
					p.advance(5 * time.Second)
				}
				if r.Status() == ResourceComplete || r.Err() == nil {
					t.Fatalf("refused: sender status %v err %v", r.Status(), r.Err())
				}
			})
		}
	}
}

// TestHandlersLookedUpPerRequest: handlers registered or removed after a
// link opened apply to it (Link.handle_request looks them up each time).
func TestHandlersLookedUpPerRequest(t *testing.T) {
	p := newPair(t, 500, Options{}, ListenConfig{})
	la, _ := p.open(Callbacks{})
	ask := func(path string) (msgpack.Value, error) {
		t.Helper()
		rr, err := la.Request(path, msgpack.Str("hi"), RequestOptions{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if !closed(rr.Done()) {
			p.advance(6 * time.Second)
		}
		return rr.Response()
	}
	if _, err := ask("/late"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("before registering: want timeout, got %v", err)
	}
	echo := func(req *Request) (msgpack.Value, bool) { return req.Data, true }
	if err := p.b.RegisterHandler(p.dest.Hash(), Handler{Path: "/late", Handle: echo}); err != nil {
		t.Fatal(err)
	}
	v, err := ask("/late")
	if s, ok := v.AsStr(); err != nil || !ok || s != "hi" {
		t.Fatalf("after registering: %v %v", v, err)
	}
	if !p.b.DeregisterHandler(p.dest.Hash(), "/late") || p.b.DeregisterHandler(p.dest.Hash(), "/late") {
		t.Fatal("deregister reported wrongly")
	}
	if _, err := ask("/late"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("after deregistering: want timeout, got %v", err)
	}
	if err := p.b.RegisterHandler(p.ta.Identity().Hash(), Handler{Path: "/x", Handle: echo}); !errors.Is(err, ErrNotListening) {
		t.Fatalf("register on a destination not listening: %v", err)
	}
}
