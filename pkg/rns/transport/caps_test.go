package transport

import (
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// TestKnownCapEvictsOldestUnpinned fills the remembered identities past MaxKnown: the least recently
// seen go first, a pinned destination stays however old it is.
func TestKnownCapEvictsOldestUnpinned(t *testing.T) {
	var pinned wire.Hash
	n := newTestNet(t)
	tr := n.node(false, func(o *Options) {
		o.MaxKnown = 4
		o.Pinned = func(h wire.Hash) bool { return h == pinned }
	})
	var hs []wire.Hash
	for i := range 8 {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := identity.FromPublicKey(id.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		var h wire.Hash
		h[0], h[1] = byte(i+1), 0xaa
		if i == 0 {
			pinned = h
		}
		if err := tr.Remember(h, pub, nil); err != nil {
			t.Fatalf("remember %d: %v", i, err)
		}
		hs = append(hs, h)
		n.clock.Advance(time.Second)
	}
	known := func(h wire.Hash) bool { _, _, ok := tr.Recall(h); return ok }
	if !known(pinned) {
		t.Error("pinned destination evicted")
	}
	for i, h := range hs[1:5] {
		if known(h) {
			t.Errorf("destination %d kept; the oldest unpinned should go first", i+1)
		}
	}
	for i, h := range hs[5:] {
		if !known(h) {
			t.Errorf("destination %d evicted; it is among the newest", i+5)
		}
	}
}
