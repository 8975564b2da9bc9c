package router

import (
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestInboundLimiter(t *testing.T) {
	l := newInboundLimiter(2, 3)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := wire.Hash{1}, wire.Hash{2}, wire.Hash{3}
	steps := []struct {
		src  wire.Hash
		at   time.Duration
		want bool
	}{
		{a, 0, true}, {a, time.Second, true}, {a, 2 * time.Second, false}, // per-peer limit
		{b, 3 * time.Second, true}, {c, 4 * time.Second, false}, // total limit
		{a, 61 * time.Second, true}, {c, 62 * time.Second, true}, // new window
	}
	for i, s := range steps {
		if got := l.allow(s.src, now.Add(s.at)); got != s.want {
			t.Fatalf("step %d: allow(%v) = %v, want %v", i, s.src, got, s.want)
		}
	}
	if len(l.counts) > l.total {
		t.Fatalf("tracked %d sources, more than the total limit %d", len(l.counts), l.total)
	}
	// A raised limit applies within the window: a (at 1 of 2) may send 3 more with a limit of 4.
	l.set(4, 10)
	for k := range 3 {
		if !l.allow(a, now.Add(63*time.Second)) {
			t.Fatalf("message %d after raising the limit refused", k)
		}
	}
	if l.allow(a, now.Add(64*time.Second)) || l.perPeerLimit() != 4 {
		t.Fatal("the raised limit is not enforced")
	}
}

// TestInboundRateLimitedNotProven: messages over the per-peer limit are not proven, so the sender
// retries them later and they arrive once the window has passed; none is lost.
func TestInboundRateLimitedNotProven(t *testing.T) {
	p := newPair(t, false, Options{MaxInboundPerPeer: 2})
	p.introduce()
	ids := []wire.FullHash{
		p.a.compose(t, p.b.r.Hash(), "one", p.clock.Now()),
		p.a.compose(t, p.b.r.Hash(), "two", p.clock.Now()),
		p.a.compose(t, p.b.r.Hash(), "three", p.clock.Now()),
	}
	p.step(0)
	delivered := 0
	for _, id := range ids {
		if p.a.q.state(id).State == StateDelivered {
			delivered++
		}
	}
	if delivered != 2 {
		t.Fatalf("%d delivered in the first minute, want 2 (the limit)", delivered)
	}
	p.step(time.Minute)
	p.step(p.a.r.backoff(2))
	for _, id := range ids {
		if u := p.a.q.state(id); u.State != StateDelivered {
			t.Fatalf("message %x: %+v; want delivered after the window", id[:4], u)
		}
	}
}
