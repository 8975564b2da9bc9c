package router

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
)

func TestDirectDelivered(t *testing.T) {
	p := newPairWith(t, false, true, Options{})
	p.introduce()
	if !p.a.r.DirectAvailable() {
		t.Fatal("direct not available with a link manager")
	}
	big := strings.Repeat("large message over a link ", 400) // ~10 KB: a multi-part resource
	id := p.a.composeMethod(t, p.b.r.Hash(), big, p.clock.Now(), lxmf.MethodDirect)
	for range 10 {
		p.step(100 * time.Millisecond)
		if p.a.q.state(id).State == StateDelivered {
			break
		}
	}
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v", u)
	}
	_, stored, _ := p.b.sink.snapshot()
	if len(stored) != 1 || string(stored[0].Message.Content) != big || stored[0].Method != lxmf.MethodDirect || !stored[0].Verified {
		t.Fatalf("bob stored %d messages", len(stored))
	}
	// A second message reuses the link.
	before := len(p.a.links.Links())
	id2 := p.a.composeMethod(t, p.b.r.Hash(), "small", p.clock.Now(), lxmf.MethodDirect)
	p.step(100 * time.Millisecond)
	if u := p.a.q.state(id2); u.State != StateDelivered {
		t.Fatalf("second message %+v", u)
	}
	if after := len(p.a.links.Links()); after != before {
		t.Fatalf("links %d -> %d; want the link reused", before, after)
	}
	if err := p.a.r.Close(); err != nil {
		t.Fatal(err)
	}
	p.step(0)
	for _, l := range p.a.links.Links() {
		if l.Status().String() != "closed" {
			t.Fatalf("link %s left %s after close", l.ID(), l.Status())
		}
	}
}

func TestDirectFailsWithoutLink(t *testing.T) {
	p := newPairWith(t, false, true, Options{})
	p.introduce()
	p.b.pipe.SetDrop(true) // bob never answers the link request
	id := p.a.composeMethod(t, p.b.r.Hash(), "nobody home", p.clock.Now(), lxmf.MethodDirect)
	for i := range 40 {
		p.step(30 * time.Second)
		if u := p.a.q.state(id); u.State == StateFailed {
			t.Logf("failed after %d steps: %s", i+1, u.Err)
			return
		}
	}
	t.Fatalf("never failed: %+v", p.a.q.state(id))
}

func TestDirectIdleLinkClosed(t *testing.T) {
	p := newPairWith(t, false, true, Options{})
	p.introduce()
	id := p.a.composeMethod(t, p.b.r.Hash(), "then silence", p.clock.Now(), lxmf.MethodDirect)
	p.step(100 * time.Millisecond)
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v", u)
	}
	if st := p.a.r.Stats(); st.Links != 1 || st.InFlight != 0 {
		t.Fatalf("after delivery: %+v", st)
	}
	p.step(5 * time.Minute)
	if st := p.a.r.Stats(); st.Links != 1 {
		t.Fatalf("link closed before the idle limit: %+v", st)
	}
	p.step(6 * time.Minute)
	if st := p.a.r.Stats(); st.Links != 0 {
		t.Fatalf("idle link kept: %+v", st)
	}
	for _, l := range p.a.links.Links() {
		if l.Status().String() != "closed" {
			t.Fatalf("link %s is %s", l.ID(), l.Status())
		}
	}
}

// TestDirectNoProofWhenStoreFails: a direct message, as a link packet or a
// resource, is proven only after bob's Sink stored it; while storing fails
// alice keeps it unproven and retries, and it is delivered once storing
// works.
func TestDirectNoProofWhenStoreFails(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"packet", "small"},
		{"resource", strings.Repeat("large message over a link ", 400)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPairWith(t, false, true, Options{})
			p.introduce()
			p.b.sink.mu.Lock()
			p.b.sink.fail = errors.New("disk full")
			p.b.sink.mu.Unlock()
			id := p.a.composeMethod(t, p.b.r.Hash(), tc.content, p.clock.Now(), lxmf.MethodDirect)
			// A resource's sender waits out its proof timeout before the
			// next attempt, so step until bob has seen a retry.
			for range 40 {
				if calls, _, _ := p.b.sink.snapshot(); calls >= 2 {
					break
				}
				p.step(p.a.r.backoff(1))
			}
			if u := p.a.q.state(id); u.State == StateDelivered || u.State == StateFailed {
				t.Fatalf("state %+v while bob cannot store; want unproven and retrying", u)
			}
			calls, stored, _ := p.b.sink.snapshot()
			if calls < 2 || len(stored) != 0 {
				t.Fatalf("bob: %d deliveries, %d stored; want retries and none stored", calls, len(stored))
			}
			p.b.sink.mu.Lock()
			p.b.sink.fail = nil
			p.b.sink.mu.Unlock()
			for range 10 {
				if p.a.q.state(id).State == StateDelivered {
					break
				}
				p.step(p.a.r.backoff(p.a.q.state(id).Attempts))
			}
			if u := p.a.q.state(id); u.State != StateDelivered {
				t.Fatalf("state %+v; want delivered once storing works", u)
			}
			if _, stored, _ := p.b.sink.snapshot(); len(stored) != 1 || string(stored[0].Message.Content) != tc.content {
				t.Fatalf("bob stored %d messages", len(stored))
			}
		})
	}
}
