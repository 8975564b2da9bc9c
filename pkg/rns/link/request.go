package link

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// RequestOptions tune Link.Request.
type RequestOptions struct {
	// Timeout defaults to RTT x 6 + 11.25 s, as the reference computes it.
	Timeout time.Duration
	// MaxResponseSize refuses larger responses (0: the manager's resource cap).
	MaxResponseSize int64
	// Progress, when set, runs as parts of a response sent as a resource
	// arrive, with the fraction received and the resource's total size
	// (RequestReceipt.progress_callback). It runs outside the link's lock
	// and must not block for long.
	Progress func(fraction float64, total int64)
}

// RequestReceipt tracks a request until its response arrives, it fails or
// times out (RNS.RequestReceipt).
type RequestReceipt struct {
	id       wire.Hash
	deadline time.Time
	maxSize  int64
	progress func(float64, int64)

	mu        sync.Mutex
	receiving bool
	resp      msgpack.Value
	metadata  []byte
	file      bool
	err       error
	done      chan struct{}
}

// ID returns the request id.
func (r *RequestReceipt) ID() wire.Hash { return r.id }

// Done is closed when the request concludes.
func (r *RequestReceipt) Done() <-chan struct{} { return r.done }

// Response returns the response once Done is closed, or the failure
// (ErrTimeout, ErrClosed, ErrTooLarge, ErrRejected).
func (r *RequestReceipt) Response() (msgpack.Value, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resp, r.err
}

// Wait blocks until the request concludes or ctx ends.
func (r *RequestReceipt) Wait(ctx context.Context) (msgpack.Value, error) {
	select {
	case <-r.done:
		return r.Response()
	case <-ctx.Done():
		return msgpack.Nil(), fmt.Errorf("request %s: %w", r.id, ctx.Err())
	}
}

// File reports whether the response came as a file response: a resource
// with metadata (Link.response_resource_concluded passes its data and
// metadata instead of unpacking it). Response is then the raw data as Bin
// and Metadata the packed msgpack metadata.
func (r *RequestReceipt) File() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.file
}

// Metadata returns the packed msgpack metadata of a file response, or nil.
func (r *RequestReceipt) Metadata() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.metadata
}

func (r *RequestReceipt) conclude(resp msgpack.Value, err error, _ *effects) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return
	default:
	}
	r.resp, r.err = resp, err
	close(r.done)
}

// Request sends a request for path with data as [timestamp, path hash,
// data] (Link.request): in one packet when it fits, otherwise as a
// resource.
func (l *Link) Request(path string, data msgpack.Value, o RequestOptions) (*RequestReceipt, error) {
	ph := PathHash(path)
	now := l.m.clock.Now()
	packed := msgpack.Array(msgpack.Float(float64(now.UnixNano())/1e9), msgpack.Bin(ph[:]), data).Encode()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != StatusActive && l.status != StatusStale {
		return nil, fmt.Errorf("request %s: %w", path, ErrNotActive)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = time.Duration(trafficTimeoutFactor)*l.rtt + responseMaxGrace*9/8
	}
	max := o.MaxResponseSize
	if max <= 0 {
		max = l.m.maxResource.Load()
	}
	rr := &RequestReceipt{deadline: now.Add(timeout), maxSize: max, progress: o.Progress, done: make(chan struct{})}
	if len(packed) <= l.mdu {
		p, err := l.sendLocked(wire.Data, wire.ContextRequest, packed, false, false)
		if err != nil {
			return nil, fmt.Errorf("request %s: %w", path, err)
		}
		rr.id = p.Hash().Truncated()
	} else {
		rr.id = identity.TruncatedHash(packed)
		if _, err := l.startOutgoingLocked(packed, rr.id[:], false, now); err != nil {
			return nil, fmt.Errorf("request %s: %w", path, err)
		}
		rr.receiving = true // the resource's own timeouts apply until it is proven
	}
	l.pending[rr.id] = rr
	return rr, nil
}

// requestJobsLocked times out requests. Called with l.mu held.
func (l *Link) requestJobsLocked(now time.Time, fx *effects) {
	for id, rr := range l.pending {
		rr.mu.Lock()
		recv := rr.receiving
		rr.mu.Unlock()
		if !recv && now.After(rr.deadline) {
			delete(l.pending, id)
			rr.conclude(msgpack.Nil(), fmt.Errorf("request %s: %w", id, ErrTimeout), fx)
		}
	}
}

// limits bounds the decoding of requests and responses on this link.
func (l *Link) limits() msgpack.Limits {
	return msgpack.Limits{MaxSize: int(min(l.m.maxResource.Load(), 1<<30)) + 1024}
}

// parseRequest splits a packed request [timestamp, path hash, data].
func (l *Link) parseRequest(packed []byte) (ts float64, ph wire.Hash, data msgpack.Value, err error) {
	v, err := msgpack.DecodeValue(packed, l.limits())
	if err != nil {
		return 0, ph, data, fmt.Errorf("request: %w", err)
	}
	if v.Kind() != msgpack.KindArray || v.Len() != 3 {
		return 0, ph, data, fmt.Errorf("request shape: %w", ErrRequest)
	}
	ts, _ = v.Index(0).AsNumber()
	hb, ok := v.Index(1).AsBin()
	if !ok || len(hb) != wire.TruncatedHashLen {
		return 0, ph, data, fmt.Errorf("request path hash: %w", ErrRequest)
	}
	copy(ph[:], hb)
	return ts, ph, v.Index(2), nil
}

// requestLocked handles an inbound request packet. Called with l.mu held.
func (l *Link) requestLocked(packed []byte, id wire.Hash, fx *effects) {
	ln := l.listenerFor()
	if ln == nil || l.status != StatusActive {
		return
	}
	if max := ln.cfg.MaxRequestSize; max > 0 && len(packed) > max {
		return
	}
	l.handleRequestLocked(packed, id, fx)
}

// handleRequestLocked looks up the handler and schedules it; the response
// is sent from the effect, outside the lock.
func (l *Link) handleRequestLocked(packed []byte, id wire.Hash, fx *effects) {
	ts, ph, data, err := l.parseRequest(packed)
	if err != nil {
		l.m.log.Debug("malformed request", "link", l.id.String(), "error", err)
		return
	}
	ln := l.listenerFor()
	if ln == nil {
		return
	}
	h, ok := ln.handlers[ph]
	if !ok {
		return
	}
	remote := l.remote
	if h.Allow != nil && !h.Allow(remote) {
		return
	}
	sec, frac := math.Modf(ts)
	req := &Request{
		Path: h.Path, Data: data, ID: id, Link: l, Remote: remote,
		RequestedAt: time.Unix(int64(sec), int64(frac*1e9)),
	}
	fx.add(func() {
		resp, ok := h.Handle(req)
		if !ok {
			return
		}
		if err := l.respond(id, resp); err != nil {
			l.m.log.Debug("sending response failed", "link", l.id.String(), "error", err)
		}
	})
}

// respond sends [request id, response] in one packet or as a resource.
func (l *Link) respond(id wire.Hash, resp msgpack.Value) error {
	packed := msgpack.Array(msgpack.Bin(id[:]), resp).Encode()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(packed) <= l.mdu {
		_, err := l.sendLocked(wire.Data, wire.ContextResponse, packed, false, false)
		return err
	}
	_, err := l.startOutgoingLocked(packed, id[:], true, l.m.clock.Now())
	return err
}

// parseResponse splits a packed response [request id, data].
func (l *Link) parseResponse(packed []byte) (wire.Hash, msgpack.Value, error) {
	var id wire.Hash
	v, err := msgpack.DecodeValue(packed, l.limits())
	if err != nil {
		return id, v, fmt.Errorf("response: %w", err)
	}
	if v.Kind() != msgpack.KindArray || v.Len() != 2 {
		return id, v, fmt.Errorf("response shape: %w", ErrRequest)
	}
	b, ok := v.Index(0).AsBin()
	if !ok || len(b) != wire.TruncatedHashLen {
		return id, v, fmt.Errorf("response id: %w", ErrRequest)
	}
	copy(id[:], b)
	return id, v.Index(1), nil
}

// responseLocked handles an inbound response packet. Called with l.mu held.
func (l *Link) responseLocked(packed []byte, fx *effects) {
	id, data, err := l.parseResponse(packed)
	if err != nil {
		return
	}
	l.concludeRequestLocked(id, data, len(packed), fx)
}

// concludeRequestLocked delivers a response of size packed bytes to its
// request, enforcing the request's response size cap. Called with l.mu held.
func (l *Link) concludeRequestLocked(id wire.Hash, data msgpack.Value, size int, fx *effects) {
	rr := l.pending[id]
	if rr == nil {
		return
	}
	delete(l.pending, id)
	if int64(size) > rr.maxSize {
		rr.conclude(msgpack.Nil(), fmt.Errorf("response to %s: %w", id, ErrTooLarge), fx)
		return
	}
	rr.conclude(data, nil, fx)
}

// concludeFileLocked delivers a file response (a response resource with
// metadata) to its request. Called with l.mu held.
func (l *Link) concludeFileLocked(id wire.Hash, data, metadata []byte, fx *effects) {
	rr := l.pending[id]
	if rr == nil {
		return
	}
	rr.mu.Lock()
	rr.file, rr.metadata = true, metadata
	rr.mu.Unlock()
	l.concludeRequestLocked(id, msgpack.Bin(data), len(data), fx)
}

// Respond answers a request later, from outside its handler: a handler that
// returns ok false may keep req.ID and call Respond once the response is
// ready (slow responders should not hold the receiving goroutine).
func (l *Link) Respond(id wire.Hash, resp msgpack.Value) error {
	if st := l.Status(); st != StatusActive && st != StatusStale {
		return fmt.Errorf("respond to %s: %w", id, ErrNotActive)
	}
	return l.respond(id, resp)
}
