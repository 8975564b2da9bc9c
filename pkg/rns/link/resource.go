package link

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Resource timing and window constants (RNS/Resource.py).
const (
	windowInit            = 4  // WINDOW
	windowMin             = 2  // WINDOW_MIN
	windowMaxSlow         = 10 // WINDOW_MAX_SLOW
	windowMaxVerySlow     = 4  // WINDOW_MAX_VERY_SLOW
	fastRateThreshold     = windowMaxSlow - windowInit - 2
	verySlowRateThreshold = 2
	rateFast              = 50 * 1000 / 8 // bytes per second
	rateVerySlow          = 2 * 1000 / 8
	windowFlexibility     = 4
	partTimeoutFactor     = 4
	partTimeoutAfterRTT   = 2
	proofTimeoutFactor    = 3
	maxRetries            = 16
	maxAdvRetries         = 4
	senderGrace           = 10 * time.Second
	processingGrace       = time.Second
	retryGrace            = 250 * time.Millisecond
	perRetryDelay         = 500 * time.Millisecond
	maxDecompressed       = 64 << 20 // AUTO_COMPRESS_MAX_SIZE
	maxCachedProofs       = 16
	firstRequestRetry     = 50 * time.Millisecond
)

// ResourceStatus is a resource's state (Resource.NONE ... REJECTED).
type ResourceStatus int

// Resource states.
const (
	ResourceAdvertised ResourceStatus = iota + 2
	ResourceTransferring
	ResourceAwaitingProof
	ResourceAssembling
	ResourceComplete
	ResourceFailed
	ResourceCorrupt
	ResourceRejected
)

// ResourceOptions tune Link.SendResource.
type ResourceOptions struct {
	// Concluded runs when the transfer completes (proof received) or fails.
	Concluded func(*Resource)
	// Progress runs as parts are requested by the receiver.
	Progress func(*Resource)
	// Timeout for the advertisement (default RTT x 6).
	Timeout time.Duration
}

// Resource is one transfer over a link, outgoing or incoming, possibly of
// several segments.
type Resource struct {
	l        *Link
	outgoing bool
	total    int64 // total data size (d)
	segs     int   // total segments
	origHash wire.FullHash
	reqID    []byte
	response bool
	done     chan struct{}

	// guarded by l.mu
	status     ResourceStatus
	err        error
	segIndex   int
	concluded  func(*Resource)
	progressCB func(*Resource)
	out        *outSegment
	in         *inSegment
	data       []byte // outgoing: all data; incoming: assembled so far
	metadata   []byte
	hasMeta    bool
	sentBytes  int64
	advTimeout time.Duration
	// compressed, when set, is sent in place of a single-segment resource's
	// data with the compressed flag (bz2 prepared elsewhere; the standard
	// library cannot compress bz2).
	compressed []byte

	progressMu sync.Mutex
	progress   float64
}

// Hash returns the hash of the first segment (the original hash).
func (r *Resource) Hash() wire.FullHash { return r.origHash }

// Size returns the total data size.
func (r *Resource) Size() int64 { return r.total }

// Segments returns the number of segments.
func (r *Resource) Segments() int { return r.segs }

// Outgoing reports whether this side sends the resource.
func (r *Resource) Outgoing() bool { return r.outgoing }

// Link returns the resource's link.
func (r *Resource) Link() *Link { return r.l }

// Done is closed when the resource completes or fails.
func (r *Resource) Done() <-chan struct{} { return r.done }

// Status returns the current state.
func (r *Resource) Status() ResourceStatus {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.status
}

// Err returns nil after a successful transfer, the failure otherwise
// (ErrRejected, ErrCancelled, ErrTimeout, ErrCorrupt, ErrTooLarge,
// ErrClosed), or nil while running.
func (r *Resource) Err() error {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.err
}

// Data returns the received data of a completed inbound resource.
func (r *Resource) Data() []byte {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	if r.outgoing || r.status != ResourceComplete {
		return nil
	}
	return r.data
}

// Metadata returns the packed metadata of a completed inbound resource
// that carried it, else nil.
func (r *Resource) Metadata() []byte {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	return r.metadata
}

// Progress returns the transferred fraction in [0, 1].
func (r *Resource) Progress() float64 {
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	return r.progress
}

func (r *Resource) setProgress(f float64, fx *effects) {
	r.progressMu.Lock()
	r.progress = min(f, 1)
	r.progressMu.Unlock()
	if cb := r.progressCB; cb != nil {
		fx.add(func() { cb(r) })
	}
}

// Cancel stops the transfer and tells the peer (RESOURCE_ICL from the
// sender, RESOURCE_RCL from the receiver).
func (r *Resource) Cancel() {
	var fx effects
	r.l.mu.Lock()
	if r.status < ResourceComplete {
		ctx := wire.ContextResourceRCL
		if r.outgoing {
			ctx = wire.ContextResourceICL
		}
		if h := r.currentHash(); h != nil && (r.l.status == StatusActive || r.l.status == StatusStale) {
			_, _ = r.l.sendLocked(wire.Data, ctx, h, false, false)
		}
		r.failLocked(ErrCancelled, &fx)
	}
	r.l.mu.Unlock()
	fx.run()
}

func (r *Resource) currentHash() []byte {
	switch {
	case r.out != nil:
		return r.out.hash[:]
	case r.in != nil:
		return r.in.adv.Hash[:]
	}
	return nil
}

// failLocked concludes the resource with err. Called with l.mu held.
func (r *Resource) failLocked(err error, fx *effects) {
	if r.status >= ResourceComplete {
		return
	}
	r.status = ResourceFailed
	switch {
	case errors.Is(err, ErrRejected):
		r.status = ResourceRejected
	case errors.Is(err, ErrCorrupt):
		r.status = ResourceCorrupt
	}
	r.err = err
	r.finishLocked(fx)
	if !r.outgoing && r.response && r.reqID != nil {
		// The response did not arrive whole: the request fails now rather
		// than waiting for the link to close (Link.response_resource_concluded
		// times the request out).
		var id wire.Hash
		copy(id[:], r.reqID)
		if rr := r.l.pending[id]; rr != nil {
			delete(r.l.pending, id)
			rr.conclude(msgpack.Nil(), fmt.Errorf("response to %s: %w", id, err), fx)
		}
	}
}

// finishLocked unregisters the resource and runs its callback. Called with
// l.mu held.
func (r *Resource) finishLocked(fx *effects) {
	l := r.l
	if r.outgoing {
		l.outgoing = remove(l.outgoing, r)
	} else {
		l.incoming = remove(l.incoming, r)
		delete(l.inSegs, r.origHash)
	}
	r.out, r.in = nil, nil
	if r.status != ResourceComplete {
		r.data = nil
	}
	close(r.done)
	if cb := r.concluded; cb != nil {
		fx.add(func() { cb(r) })
	}
}

func remove(rs []*Resource, r *Resource) []*Resource {
	for k, x := range rs {
		if x == r {
			return append(rs[:k], rs[k+1:]...)
		}
	}
	return rs
}

// sdu is the part size of resources on this link (Resource.sdu: link MTU
// minus the largest header and the IFAC minimum).
func (l *Link) sdu() int { return l.mtu - wire.HeaderMaxSize - wire.IFACMinSize }

// resourceJobsLocked runs resource timeouts. Called with l.mu held.
func (l *Link) resourceJobsLocked(now time.Time, fx *effects) {
	for _, r := range append([]*Resource(nil), l.outgoing...) {
		r.outJobLocked(now, fx)
	}
	for _, r := range append([]*Resource(nil), l.incoming...) {
		r.inJobLocked(now, fx)
	}
}

// cancelIncomingLocked handles RESOURCE_ICL. Called with l.mu held.
func (l *Link) cancelIncomingLocked(pt []byte, fx *effects) {
	if len(pt) < wire.FullHashLen {
		return
	}
	for _, r := range append([]*Resource(nil), l.incoming...) {
		if r.in != nil && string(r.in.adv.Hash[:]) == string(pt[:wire.FullHashLen]) {
			r.failLocked(ErrCancelled, fx)
		}
	}
}

// rejectedOutgoingLocked handles RESOURCE_RCL. Called with l.mu held.
func (l *Link) rejectedOutgoingLocked(pt []byte, fx *effects) {
	if len(pt) < wire.FullHashLen {
		return
	}
	for _, r := range append([]*Resource(nil), l.outgoing...) {
		if r.out != nil && string(r.out.hash[:]) == string(pt[:wire.FullHashLen]) {
			r.failLocked(ErrRejected, fx)
			if r.reqID != nil && !r.response {
				var id wire.Hash
				copy(id[:], r.reqID)
				if rr := l.pending[id]; rr != nil {
					delete(l.pending, id)
					rr.conclude(msgpack.Nil(), fmt.Errorf("request %s: %w", id, ErrRejected), fx)
				}
			}
		}
	}
}
