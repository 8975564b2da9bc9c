package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// loopback is two in-process Reticle nodes over loopback TCP with their
// link layers: srv listens on a destination, cli opens links to it.
type loopback struct {
	srvNode, cliNode *rns.Node
	srv, cli         *link.Manager
	dest             *transport.Destination
	incoming         chan *link.Link
	resources        chan *link.Resource
}

func newLoopback(tb testing.TB) *loopback {
	tb.Helper()
	ctx := context.Background()
	mk := func(uri string) *rns.Node {
		n, err := rns.New(rns.Options{DataDir: tb.TempDir(), Interfaces: []string{uri},
			ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = n.Close() })
		return n
	}
	lb := &loopback{incoming: make(chan *link.Link, 16), resources: make(chan *link.Resource, 16)}
	lb.srvNode = mk("tcp-server://127.0.0.1:0?name=srv")
	addr := lb.srvNode.ListenAddr("srv").(*netTCPAddr)
	lb.cliNode = mk(fmt.Sprintf("tcp-client://127.0.0.1:%d", addr.Port))
	var err error
	for _, p := range []struct {
		n **link.Manager
		o *rns.Node
	}{{&lb.srv, lb.srvNode}, {&lb.cli, lb.cliNode}} {
		if *p.n, err = p.o.NewLinks(link.Options{MaxResourceSize: 64 << 20}); err != nil {
			tb.Fatal(err)
		}
		if err := (*p.n).Start(ctx); err != nil {
			tb.Fatal(err)
		}
		m := *p.n
		tb.Cleanup(func() { _ = m.Close() })
	}
	id, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	if lb.dest, err = lb.srvNode.RegisterDestination(transport.DestinationConfig{Identity: id, App: app, Aspects: []string{"loop"}}); err != nil {
		tb.Fatal(err)
	}
	err = lb.srv.Listen(lb.dest, link.ListenConfig{Callbacks: link.Callbacks{
		Established:        func(l *link.Link) { lb.incoming <- l },
		ResourceAdvertised: func(*link.Link, *link.Advertisement) bool { return true },
		ResourceConcluded:  func(_ *link.Link, r *link.Resource) { lb.resources <- r },
	}})
	if err != nil {
		tb.Fatal(err)
	}
	// Announce until the client has a path (and so the TCP MTU for links).
	for attempt := 0; attempt < 100; attempt++ {
		_ = lb.srvNode.Announce(lb.dest, nil)
		for range 20 {
			if lb.cliNode.Transport().HasPath(lb.dest.Hash()) {
				return lb
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	tb.Fatal("client never learned a path")
	return nil
}

// cycle opens a link, waits for both ends, closes it and waits for the
// responder to see the close.
func (lb *loopback) cycle(tb testing.TB) {
	l, err := lb.cli.Open(lb.dest.Hash(), link.Callbacks{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		tb.Fatal(err)
	}
	var r *link.Link
	select {
	case r = <-lb.incoming:
	case <-ctx.Done():
		tb.Fatal("responder did not see the link")
	}
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-r.Done():
	case <-ctx.Done():
		tb.Fatal("responder did not see the close")
	}
}

func countFDs(tb testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("cannot count fds: %v", err)
	}
	return len(ents)
}

// TestLinkLoopbackCycles opens and closes 1,000 links between two Reticle
// nodes over loopback TCP and checks that goroutines and file descriptors
// return to their baseline and no link is left registered.
func TestLinkLoopbackCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 link cycles; skipped with -short")
	}
	lb := newLoopback(t)
	for range 5 { // warm up: connection, pools
		lb.cycle(t)
	}
	g0, f0 := runtime.NumGoroutine(), countFDs(t)
	start := time.Now()
	for range 1000 {
		lb.cycle(t)
	}
	elapsed := time.Since(start)
	var g1, f1 int
	// Let exiting goroutines finish and the last close leave the registries (a link is removed from its
	// manager just after its Done channel closes). Bounded.
	for range 100 {
		g1, f1 = runtime.NumGoroutine(), countFDs(t)
		if g1 <= g0 && f1 <= f0 && len(lb.cli.Links()) == 0 && len(lb.srv.Links()) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("1000 cycles in %v (%.2f ms each); goroutines %d -> %d, fds %d -> %d",
		elapsed, float64(elapsed.Microseconds())/1000/1000, g0, g1, f0, f1)
	if g1 > g0 || f1 > f0 {
		t.Fatalf("leak: goroutines %d -> %d, fds %d -> %d", g0, g1, f0, f1)
	}
	if n, m := len(lb.cli.Links()), len(lb.srv.Links()); n != 0 || m != 0 {
		t.Fatalf("links still registered: client %d, server %d", n, m)
	}
}

// BenchmarkLinkEstablish measures a full link round trip over loopback TCP:
// request, proof, RTT packet, then teardown.
func BenchmarkLinkEstablish(b *testing.B) {
	lb := newLoopback(b)
	b.ResetTimer()
	for b.Loop() {
		lb.cycle(b)
	}
}

// BenchmarkLinkResource measures 1 MiB resource transfers over one link on
// loopback TCP, from advertisement to the sender's proof, at the TCP
// interface's MTU and at the 16 KiB link MTU the reference's TCP server
// interfaces negotiate.
func BenchmarkLinkResource(b *testing.B) {
	for _, mtu := range []int{0, 16384} {
		name := "tcp_mtu"
		if mtu > 0 {
			name = fmt.Sprintf("mtu_%d", mtu)
		}
		b.Run(name, func(b *testing.B) { benchResource(b, mtu) })
	}
}

func benchResource(b *testing.B, mtu int) {
	lb := newLoopback(b)
	l, err := lb.cli.OpenWith(lb.dest.Hash(), link.OpenOptions{MTU: mtu})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	<-lb.incoming
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		r, err := l.SendResource(data, link.ResourceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		<-r.Done()
		if r.Err() != nil {
			b.Fatal(r.Err())
		}
		got := <-lb.resources
		if len(got.Data()) != len(data) {
			b.Fatal("short resource")
		}
	}
	b.ReportMetric(float64(l.MTU()), "link_mtu")
}
