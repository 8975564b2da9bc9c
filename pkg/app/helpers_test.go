package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

type node struct {
	tr   *transport.Transport
	pipe *testkit.Pipe
	st   *store.Store
	app  *App
	dir  string
}

type net2 struct {
	t     *testing.T
	clock *testkit.Clock
	a, b  *node
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	p := filepath.Join(dir, "reticle.db")
	st, err := store.Open(context.Background(), store.Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newNet(t *testing.T) *net2 {
	t.Helper()
	n := &net2{t: t, clock: testkit.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))}
	mk := func(name string) *node {
		tid, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := transport.New(transport.Options{Identity: tid, Clock: n.clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		nd := &node{tr: tr, pipe: testkit.NewPipe(name, wire.MTU), dir: t.TempDir()}
		nd.st = openStore(t, nd.dir)
		t.Cleanup(func() { _ = nd.st.Close() })
		nd.start(t, n.clock, name)
		return nd
	}
	n.a, n.b = mk("alice"), mk("bob")
	testkit.Connect(n.a.pipe, n.b.pipe)
	n.a.tr.Attach(n.a.pipe)
	n.b.tr.Attach(n.b.pipe)
	return n
}

// start builds and starts the app on the node's store and transport. The
// router loop runs, but on the fake clock; tests drive it with step.
func (nd *node) start(t *testing.T, clk *testkit.Clock, name string) {
	t.Helper()
	a, err := newApp(Options{DataDir: nd.dir, DisplayName: name, Clock: clk}, nd.st, nd.tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	nd.app = a
}

func (n *net2) pump() {
	for range 10_000 {
		fa, fb := n.a.pipe.Take(), n.b.pipe.Take()
		if len(fa) == 0 && len(fb) == 0 {
			return
		}
		for _, f := range fa {
			n.b.tr.Inbound(n.b.pipe, f)
		}
		for _, f := range fb {
			n.a.tr.Inbound(n.a.pipe, f)
		}
	}
	n.t.Fatal("pump did not settle")
}

func (n *net2) step(d time.Duration) {
	n.clock.Advance(d)
	ctx := context.Background()
	for range 2 {
		n.a.tr.RunJobs()
		n.b.tr.RunJobs()
		n.pump()
		n.a.app.Router().RunOnce(ctx)
		n.b.app.Router().RunOnce(ctx)
		n.pump()
	}
}

// listAll returns the newest page (up to 500) of messages with peer (all when empty).
func (a *App) listAll(ctx context.Context, peer string) ([]Message, error) {
	p, err := a.ListMessages(ctx, MessageQuery{Peer: peer, Limit: MaxLimit})
	return p.Items, err
}
