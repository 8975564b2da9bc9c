package router

import (
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// inboundLimiter bounds how many messages one source may deliver per minute, and all sources together,
// so that a flood from one peer, or from many forged source addresses, cannot fill the store. A message
// over the limit is not proven, so a well-behaved sender retries it later; nothing is lost. Memory is
// bounded: at most `total` sources are tracked per window.
type inboundLimiter struct {
	mu             sync.Mutex
	perPeer, total int
	window         time.Time // start of the current one-minute window
	counts         map[wire.Hash]int
	all            int
}

func newInboundLimiter(perPeer, total int) *inboundLimiter {
	return &inboundLimiter{perPeer: perPeer, total: total, counts: map[wire.Hash]int{}}
}

// set changes the limits; the counts of the current window stay.
func (l *inboundLimiter) set(perPeer, total int) {
	l.mu.Lock()
	l.perPeer, l.total = perPeer, total
	l.mu.Unlock()
}

func (l *inboundLimiter) perPeerLimit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.perPeer
}

// allow counts one message from src at now and reports whether it is within both limits.
func (l *inboundLimiter) allow(src wire.Hash, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute || now.Before(l.window) {
		l.window, l.all = now, 0
		clear(l.counts)
	}
	if l.all >= l.total || l.counts[src] >= l.perPeer {
		return false
	}
	l.all++
	l.counts[src]++
	return true
}

// SetInboundLimit changes Options.MaxInboundPerPeer at once (all sources together: ten times it);
// perPeer <= 0 is ignored.
func (r *Router) SetInboundLimit(perPeer int) {
	if perPeer > 0 {
		r.limit.set(perPeer, 10*perPeer)
	}
}

// InboundLimit is the per-source limit of messages per minute in force.
func (r *Router) InboundLimit() int { return r.limit.perPeerLimit() }
