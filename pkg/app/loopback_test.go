package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// loopNode is a full Reticle messaging stack (store, node, app) on loopback TCP.
type loopNode struct {
	st    *store.Store
	node  *rns.Node
	links *link.Manager
	app   *App
}

// startLoopNodeLinks starts store, node, (optionally) a link manager and
// the app, in the order cmd/reticle wires them.
func startLoopNodeLinks(tb testing.TB, name string, withLinks bool, uris ...string) *loopNode {
	tb.Helper()
	return startLoopNodeOpts(tb, name, withLinks, Options{}, uris...)
}

func startLoopNodeOpts(tb testing.TB, name string, withLinks bool, opts Options, uris ...string) *loopNode {
	tb.Helper()
	return startLoopNodeIn(tb, tb.TempDir(), name, withLinks, opts, uris...)
}

// startLoopNodeIn starts a node whose data lives in dir, so a test can stop and restart it.
func startLoopNodeIn(tb testing.TB, dir, name string, withLinks bool, opts Options, uris ...string) *loopNode {
	tb.Helper()
	p := filepath.Join(dir, "reticle.db")
	st, err := store.Open(context.Background(), store.Options{Path: p, Database: testkit.Database(tb, p)})
	if err != nil {
		tb.Fatal(err)
	}
	node, err := rns.New(rns.Options{DataDir: dir, Interfaces: uris, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	n := &loopNode{st: st, node: node}
	if withLinks {
		if n.links, err = link.New(link.Options{Transport: node.Transport()}); err != nil {
			tb.Fatal(err)
		}
	}
	opts.DataDir, opts.DisplayName, opts.Links = dir, name, n.links
	if opts.Router.MaxInboundPerPeer == 0 {
		opts.Router.MaxInboundPerPeer = 1 << 20 // throughput benchmarks send far more than the default limit
	}
	if n.app, err = New(opts, st, node); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := node.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	if n.links != nil {
		if err := n.links.Start(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	if err := n.app.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return n
}

func (n *loopNode) close() {
	_ = n.app.Close()
	if n.links != nil {
		_ = n.links.Close()
	}
	_ = n.node.Close()
	_ = n.st.Close()
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// introduce announces both sides until each has recorded the other as a
// peer (bounded).
func introduce(tb testing.TB, a, b *loopNode) {
	tb.Helper()
	ctx := context.Background()
	has := func(n *loopNode, addr string) bool {
		ps, _ := n.app.ListPeers(ctx, PeerQuery{})
		for _, p := range ps.Items {
			if p.Address == addr {
				return true
			}
		}
		return false
	}
	aAddr, bAddr := a.app.Identity(ctx).Address, b.app.Identity(ctx).Address
	for range 100 {
		_ = a.app.Announce(ctx)
		_ = b.app.Announce(ctx)
		for range 20 {
			if has(a, bAddr) && has(b, aAddr) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	tb.Fatal("nodes never learned each other")
}

func sendAndWaitMethod(tb testing.TB, a, b *loopNode, n int, timeout time.Duration, method string) int {
	tb.Helper()
	ctx := context.Background()
	events, unsub := a.app.Events().Subscribe(4 * n)
	defer unsub()
	to := b.app.Identity(ctx).Address
	want := make(map[string]bool, n)
	for i := range n {
		m, err := a.app.Send(ctx, SendRequest{To: to, Content: fmt.Sprintf("message %d", i), Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		want[m.ID] = true
	}
	delivered := 0
	deadline := time.After(timeout)
	for delivered < n {
		select {
		case ev := <-events:
			if ev.Kind == EventMessageState && ev.State == store.StateDelivered && want[ev.MessageID] {
				delete(want, ev.MessageID)
				delivered++
			}
		case <-deadline:
			return delivered
		}
	}
	return delivered
}

// BenchmarkOpportunisticLoopback measures small opportunistic messages end
// to end between two Reticle nodes over loopback TCP: stored, sent,
// received, stored by the recipient, proven, and marked delivered.
func BenchmarkOpportunisticLoopback(b *testing.B) { benchLoopback(b, MethodOpportunistic) }

// BenchmarkDirectLoopback is the same for small direct messages: one link
// packet each over a link that stays up, proven by the recipient.
func BenchmarkDirectLoopback(b *testing.B) { benchLoopback(b, MethodDirect) }

func benchLoopback(b *testing.B, method string) {
	addr := freeAddr(b)
	srv := startLoopNodeLinks(b, "server", true, "tcp-server://"+addr)
	defer srv.close()
	cli := startLoopNodeLinks(b, "client", true, "tcp-client://"+addr)
	defer cli.close()
	introduce(b, srv, cli)
	b.ResetTimer()
	const batch = 50
	total := 0
	for total < b.N {
		n := min(batch, b.N-total)
		if got := sendAndWaitMethod(b, cli, srv, n, 60*time.Second, method); got != n {
			b.Fatalf("delivered %d of %d", got, n)
		}
		total += n
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
}

// waitNoClients waits (bounded) until the hub's server has dropped every
// client connection.
func waitNoClients(t *testing.T, hub *loopNode) {
	t.Helper()
	for range 500 {
		if hub.node.InterfaceStats()[0].Clients == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("hub kept a client connection")
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestPeerChurnIsFlat connects, uses and disconnects a peer node many times
// against one long-lived node; goroutines and file descriptors must return
// to the level they had after the first rounds.
func TestPeerChurnIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test skipped with -short")
	}
	addr := freeAddr(t)
	// The hub closes the links it opened after a short idle time, as it
	// would after LinkIdle (10 min) in the field.
	hub := startLoopNodeOpts(t, "hub", true, Options{Router: router.Options{LinkIdle: 200 * time.Millisecond}}, "tcp-server://"+addr)
	defer hub.close()
	const rounds, warmup = 12, 2
	var baseG, baseFD int
	settle := func() (int, int) {
		// Closing is synchronous, but the hub notices a gone client only
		// when its read fails; allow that a bounded moment.
		g, fd := runtime.NumGoroutine(), countFDs()
		for range 100 {
			if g <= baseG && fd <= baseFD {
				break
			}
			time.Sleep(20 * time.Millisecond)
			g, fd = runtime.NumGoroutine(), countFDs()
		}
		return g, fd
	}
	for i := range rounds {
		peer := startLoopNodeLinks(t, fmt.Sprintf("peer%d", i), true, "tcp-client://"+addr)
		introduce(t, hub, peer)
		for _, method := range []string{MethodOpportunistic, MethodDirect} {
			if got := sendAndWaitMethod(t, peer, hub, 3, 30*time.Second, method); got != 3 {
				t.Fatalf("round %d: %s: delivered %d of 3", i, method, got)
			}
			if got := sendAndWaitMethod(t, hub, peer, 3, 30*time.Second, method); got != 3 {
				t.Fatalf("round %d: %s: hub delivered %d of 3", i, method, got)
			}
		}
		peer.close()
		waitNoClients(t, hub)
		if i+1 == warmup {
			baseG, baseFD = runtime.NumGoroutine(), countFDs()
			t.Logf("baseline after %d rounds: %d goroutines, %d fds", warmup, baseG, baseFD)
		}
	}
	for range 500 {
		if st := hub.app.Router().Stats(); st.Links == 0 && st.InFlight == 0 && st.WaitingLinks == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := hub.app.Router().Stats(); st.Links != 0 || st.InFlight != 0 || st.WaitingLinks != 0 {
		t.Fatalf("hub router still holds state for gone peers: %+v", st)
	}
	// Links the peers opened to the hub end with the link layer's stale
	// timeout (minutes); they hold no goroutine or descriptor meanwhile.
	t.Logf("hub link manager still tracks %d links of gone peers", len(hub.links.Links()))
	g, fd := settle()
	t.Logf("after %d rounds: %d goroutines (baseline %d), %d fds (baseline %d)", rounds, g, baseG, fd, baseFD)
	if g > baseG || fd > baseFD {
		buf := make([]byte, 1<<16)
		t.Fatalf("leak: goroutines %d > %d or fds %d > %d\n%s", g, baseG, fd, baseFD, buf[:runtime.Stack(buf, true)])
	}
}
