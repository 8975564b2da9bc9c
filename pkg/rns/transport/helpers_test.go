package transport

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// fakeIf is one end of an in-memory link. Frames queue until the testNet
// pumps them, so no transport lock is held while the peer processes them.
type fakeIf struct {
	name    string
	peer    *fakeIf
	owner   *Transport
	bitrate int

	mu   sync.Mutex
	out  [][]byte
	sent int
	down bool
}

func (f *fakeIf) Name() string                    { return f.name }
func (f *fakeIf) Start(ctx context.Context) error { return nil }
func (f *fakeIf) Close() error                    { return nil }
func (f *fakeIf) MTU() int                        { return iface.TCPHardwareMTU }
func (f *fakeIf) Bitrate() int                    { return f.bitrate }
func (f *fakeIf) Stats() iface.Stats              { return iface.Stats{Name: f.name} }
func (f *fakeIf) Parent() iface.Interface         { return nil }
func (f *fakeIf) State() iface.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return iface.StateDown
	}
	return iface.StateUp
}

func (f *fakeIf) Send(frame []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out = append(f.out, append([]byte(nil), frame...))
	f.sent++
	return nil
}

func (f *fakeIf) take() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.out
	f.out = nil
	return out
}

type testNet struct {
	t     testing.TB
	clock *testkit.Clock
	links []*fakeIf
}

func newTestNet(t testing.TB) *testNet { return &testNet{t: t, clock: newFakeClock()} }

func (n *testNet) node(transportMode bool, mod ...func(*Options)) *Transport {
	n.t.Helper()
	id, err := identity.Generate()
	if err != nil {
		n.t.Fatal(err)
	}
	o := Options{Identity: id, Transport: transportMode, Clock: n.clock, Rand: func() float64 { return 0.5 }}
	for _, m := range mod {
		m(&o)
	}
	tr, err := New(o)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// connect links a and b; it returns a's and b's interface.
func (n *testNet) connect(a, b *Transport) (*fakeIf, *fakeIf) {
	ia := &fakeIf{name: "to-b", owner: a, bitrate: 10_000_000}
	ib := &fakeIf{name: "to-a", owner: b, bitrate: 10_000_000}
	ia.peer, ib.peer = ib, ia
	a.Attach(ia)
	b.Attach(ib)
	n.links = append(n.links, ia, ib)
	return ia, ib
}

// pump delivers queued frames until the network is quiet.
func (n *testNet) pump() int {
	n.t.Helper()
	total := 0
	for range 1000 {
		moved := 0
		for _, l := range n.links {
			for _, f := range l.take() {
				l.peer.owner.Inbound(l.peer, f)
				moved++
			}
		}
		if moved == 0 {
			return total
		}
		total += moved
	}
	n.t.Fatal("network did not settle")
	return total
}

// step advances the clock, runs every node's jobs and pumps.
func (n *testNet) step(d time.Duration, nodes ...*Transport) {
	n.clock.Advance(d)
	for _, tr := range nodes {
		tr.RunJobs()
	}
	n.pump()
}

func newDest(t *testing.T, tr *Transport, cfg DestinationConfig) *Destination {
	t.Helper()
	if cfg.Identity == nil {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Identity = id
	}
	if cfg.App == "" {
		cfg.App, cfg.Aspects = "reticle", []string{"test"}
	}
	d, err := tr.Register(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
