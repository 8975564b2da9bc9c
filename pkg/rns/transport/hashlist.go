package transport

import "github.com/reticle-mesh/reticle/pkg/rns/wire"

// hashlist is the bounded duplicate filter: two generations of packet hashes,
// rotated when the current one reaches half the limit, as the reference's
// packet_hashlist / packet_hashlist_prev pair.
type hashlist struct {
	half      int
	cur, prev map[wire.FullHash]struct{}
}

func newHashlist(limit int) *hashlist {
	half := max(limit/2, 1)
	return &hashlist{half: half, cur: make(map[wire.FullHash]struct{}, 64)}
}

func (h *hashlist) has(k wire.FullHash) bool {
	if _, ok := h.cur[k]; ok {
		return true
	}
	_, ok := h.prev[k]
	return ok
}

func (h *hashlist) add(k wire.FullHash) {
	if len(h.cur) >= h.half {
		h.prev, h.cur = h.cur, make(map[wire.FullHash]struct{}, 64)
	}
	h.cur[k] = struct{}{}
}

func (h *hashlist) remove(k wire.FullHash) {
	delete(h.cur, k)
	delete(h.prev, k)
}

func (h *hashlist) len() int { return len(h.cur) + len(h.prev) }
