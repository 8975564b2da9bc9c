package link

import (
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// pair is two transports and link managers joined by a pipe.
type pair struct {
	t      testing.TB
	clock  *testkit.Clock
	a, b   *Manager
	ta, tb *transport.Transport
	ia, ib *testkit.Pipe
	dest   *transport.Destination
	destID *identity.Identity
	frames int
}

func newPair(t testing.TB, mtu int, bOpts Options, ln ListenConfig) *pair {
	t.Helper()
	clk := testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	mk := func() *transport.Transport {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := transport.New(transport.Options{Identity: id, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	p := &pair{t: t, clock: clk, ta: mk(), tb: mk()}
	p.ia = testkit.NewPipe("a", mtu)
	p.ib = testkit.NewPipe("b", mtu)
	testkit.Connect(p.ia, p.ib)
	p.ta.Attach(p.ia)
	p.tb.Attach(p.ib)
	var err error
	if p.a, err = New(Options{Transport: p.ta, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	bOpts.Transport, bOpts.Clock = p.tb, clk
	if p.b, err = New(bOpts); err != nil {
		t.Fatal(err)
	}
	p.ta.SetLinkHandler(p.a)
	p.tb.SetLinkHandler(p.b)
	if p.destID, err = identity.Generate(); err != nil {
		t.Fatal(err)
	}
	if p.dest, err = p.tb.Register(transport.DestinationConfig{Identity: p.destID, App: "reticle_test", Aspects: []string{"link"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.b.Listen(p.dest, ln); err != nil {
		t.Fatal(err)
	}
	if err := p.ta.Remember(p.dest.Hash(), p.destID, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// pump moves frames both ways until no side has anything to send.
func (p *pair) pump() {
	for range 1_000_000 {
		fa, fb := p.ia.Take(), p.ib.Take()
		if len(fa) == 0 && len(fb) == 0 {
			return
		}
		for _, f := range fa {
			p.frames++
			p.tb.Inbound(p.ib, f)
		}
		for _, f := range fb {
			p.frames++
			p.ta.Inbound(p.ia, f)
		}
	}
	p.t.Fatal("pump did not settle")
}

// advance moves the clock and runs both managers' jobs, then pumps.
func (p *pair) advance(d time.Duration) {
	p.clock.Advance(d)
	p.a.RunJobs()
	p.b.RunJobs()
	p.pump()
}

// open establishes a link from a to b and returns both ends.
func (p *pair) open(cb Callbacks) (*Link, *Link) {
	p.t.Helper()
	la, err := p.a.Open(p.dest.Hash(), cb)
	if err != nil {
		p.t.Fatal(err)
	}
	p.pump()
	if la.Status() != StatusActive {
		p.t.Fatalf("initiator status %s", la.Status())
	}
	lb, ok := p.b.Link(la.ID())
	if !ok || lb.Status() != StatusActive {
		p.t.Fatalf("responder link missing or not active")
	}
	return la, lb
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
