package transport

import (
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// DefaultMaxTable is the default cap of the announce-fed tables (Options.MaxPaths, Options.MaxKnown).
const DefaultMaxTable = 20000

// protectedLocked reports whether table eviction must keep dest: the node's own destinations, the
// destinations of links in the link table, and what Options.Pinned pins. Called with t.mu held.
func (t *Transport) protectedLocked(dest wire.Hash) bool {
	if _, own := t.dests[dest]; own {
		return true
	}
	for _, le := range t.linkTable {
		if le.dest == dest {
			return true
		}
	}
	return t.opts.Pinned != nil && t.opts.Pinned(dest)
}

// evictOldestKnownLocked drops the least recently seen remembered identity that is not protected;
// it reports false when every entry is protected. Called with t.mu held.
func (t *Transport) evictOldestKnownLocked() bool {
	var oldest wire.Hash
	var ot time.Time
	first := true
	for h, k := range t.known {
		if (first || k.seen.Before(ot)) && !t.protectedLocked(h) {
			oldest, ot, first = h, k.seen, false
		}
	}
	if first {
		return false
	}
	delete(t.known, oldest)
	return true
}

// evictOldestPath drops the least recently updated path that is not protected. Called with t.mu held.
func (t *Transport) evictOldestPath() {
	var oldest wire.Hash
	var ot time.Time
	first := true
	for h, pe := range t.paths {
		if (first || pe.updated.Before(ot)) && !t.protectedLocked(h) {
			oldest, ot, first = h, pe.updated, false
		}
	}
	if !first {
		delete(t.paths, oldest)
	}
}
