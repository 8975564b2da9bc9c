package propnode

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

type countSink struct {
	mu    sync.Mutex
	nodes []NodeInfo
}

func (s *countSink) NodeAnnounced(_ context.Context, n NodeInfo) error {
	s.mu.Lock()
	s.nodes = append(s.nodes, n)
	s.mu.Unlock()
	return nil
}

func (s *countSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nodes)
}

// TestDiscoveryBounded: a flood of node announces is recorded through a
// bounded queue (the excess is dropped and counted, never blocking the
// interface), invalid app data is ignored, and nothing but the sink is
// touched: discovery holds no link manager at all.
func TestDiscoveryBounded(t *testing.T) {
	tid, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Options{Identity: tid})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	sink := &countSink{}
	d, err := NewDiscovery(DiscoveryOptions{Queue: 16}, tr, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ad := lxmf.PropagationNodeAppData{Enabled: true, StampCost: 16, TransferLimit: 256, SyncLimit: 256}.Pack()
	d.onAnnounce(transport.Announce{Destination: PropagationHash(id), Identity: id, AppData: []byte{0x90}})
	for range 100 {
		d.onAnnounce(transport.Announce{Destination: PropagationHash(id), Identity: id, AppData: ad, Hops: 2})
	}
	if got := d.Dropped(); got != 84 {
		t.Fatalf("dropped %d, want 84 beyond the queue of 16", got)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 1_000_000 {
		if sink.count() == 16 {
			break
		}
		runtime.Gosched()
	}
	if n := sink.count(); n != 16 {
		t.Fatalf("recorded %d", n)
	}
	if n := sink.nodes[0]; n.Hash != PropagationHash(id) || n.AppData.StampCost != 16 || n.Hops != 2 || !n.AppData.Enabled {
		t.Fatalf("node %+v", n)
	}
}
