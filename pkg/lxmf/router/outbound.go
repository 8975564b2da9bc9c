package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// sendDue sends every due message once.
func (r *Router) sendDue(ctx context.Context) {
	now := r.opts.Clock.Now()
	due, err := r.q.Due(ctx, now, r.opts.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("reading lxmf queue failed", "error", err)
		}
		return
	}
	for _, m := range due {
		if ctx.Err() != nil {
			return
		}
		r.attempt(ctx, m, now)
	}
}

// backoff is the wait after the given number of attempts.
func (r *Router) backoff(attempts int) time.Duration {
	d := r.opts.RetryWait
	for i := 1; i < attempts && d < r.opts.MaxRetryWait; i++ {
		d *= 2
	}
	return min(d, r.opts.MaxRetryWait)
}

func (r *Router) update(ctx context.Context, id wire.FullHash, u Update) {
	if err := r.q.Update(ctx, id, u); err != nil && ctx.Err() == nil {
		r.mu.Lock()
		r.storeErr = true
		r.mu.Unlock()
		r.log.Warn("updating lxmf message state failed", "message_id", id.String(), "state", string(u.State), "error", err)
	}
}

func (r *Router) fail(ctx context.Context, m Outbound, reason string) {
	r.log.Info("lxmf message failed", "message_id", m.ID.String(), "destination", m.Destination.String(), "attempts", m.Attempts, "reason", reason)
	r.mu.Lock()
	delete(r.stamped, m.ID)
	r.unwaitLocked(m.ID)
	r.forgetPropLocked(m.ID)
	r.mu.Unlock()
	r.update(ctx, m.ID, Update{State: StateFailed, Attempts: m.Attempts, Err: reason})
}

// propagateInstead hands a direct or opportunistic message that ran out of attempts to the
// propagation node, when the owner wants that and a node is chosen. It reports whether it did.
func (r *Router) propagateInstead(ctx context.Context, m Outbound, reason string, now time.Time) bool {
	if m.Method == lxmf.MethodPropagated || r.opts.Links == nil || r.opts.PropagateOnFail == nil || !r.opts.PropagateOnFail() {
		return false
	}
	if !r.known(m.Destination) {
		return false // a propagated message is encrypted for the recipient, whose key never arrived
	}
	node, ok := r.PropagationNode()
	if !ok {
		return false
	}
	r.log.Info("lxmf message not delivered directly; sending it through the propagation node",
		"message_id", m.ID.String(), "destination", m.Destination.String(), "node", node.String(), "reason", reason)
	r.mu.Lock()
	r.unwaitLocked(m.ID)
	r.mu.Unlock()
	r.update(ctx, m.ID, Update{State: StateQueued, Method: lxmf.MethodPropagated, NextAttempt: now,
		Err: reason + "; sending through the propagation node"})
	r.Wake()
	return true
}

// attempt makes one delivery attempt (LXMRouter.process_outbound for
// OPPORTUNISTIC): fail when out of attempts or time, ask for a path when
// the recipient is unknown, else send one packet. As in the reference, the
// next attempt does not wait for the previous packet's receipt: any proof,
// of any attempt, delivers the message.
func (r *Router) attempt(ctx context.Context, m Outbound, now time.Time) {
	switch {
	case m.Method == lxmf.MethodOpportunistic:
	case m.Method == lxmf.MethodDirect && r.opts.Links != nil:
	case m.Method == lxmf.MethodPropagated && r.opts.Links != nil:
	default:
		r.fail(ctx, m, fmt.Sprintf("method %d: %v", m.Method, ErrMethodUnavailable))
		return
	}
	reason, outOfAttempts := "", m.Attempts >= r.opts.MaxAttempts
	switch {
	case outOfAttempts && !r.known(m.Destination):
		reason = "recipient unknown: no announce or path response received"
	case outOfAttempts:
		reason = "no delivery proof after the maximum number of attempts"
	case !m.CreatedAt.IsZero() && now.Sub(m.CreatedAt) > r.opts.MaxAge:
		reason, outOfAttempts = "not delivered within the maximum time", false
	}
	if reason != "" {
		r.mu.Lock()
		fl := r.inflight[m.ID]
		r.mu.Unlock()
		if fl != nil && fl.until.After(now) {
			// A proof for an earlier attempt may still come.
			r.update(ctx, m.ID, Update{State: StateSent, Attempts: m.Attempts, NextAttempt: fl.until})
			return
		}
		if outOfAttempts && r.propagateInstead(ctx, m, reason, now) {
			return
		}
		r.fail(ctx, m, reason)
		return
	}
	if len(m.Packed) <= lxmf.DestinationLength || wire.Hash(m.Packed[:lxmf.DestinationLength]) != m.Destination {
		r.fail(ctx, m, "stored message is malformed")
		return
	}
	if m.Method == lxmf.MethodPropagated {
		r.attemptPropagated(ctx, m, now)
		return
	}
	_, appData, known := r.tr.Recall(m.Destination)
	if !known || !r.tr.HasPath(m.Destination) {
		r.requestPath(m.Destination, now)
	}
	if !known {
		// Count the wait as an attempt, so an unreachable peer fails in
		// bounded time.
		m.Attempts++
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.opts.PathWait), Err: "waiting for a path to the recipient"})
		return
	}
	packed, err := r.withStamp(ctx, m, appData)
	if err != nil {
		r.fail(ctx, m, err.Error())
		return
	}
	if m.Method == lxmf.MethodDirect {
		m.Packed = packed
		r.attemptDirect(ctx, m, now)
		return
	}
	m.Attempts++
	// Persist before network I/O: a crash from here on retries later.
	r.update(ctx, m.ID, Update{State: StateSending, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
	msgID, attempts := m.ID, m.Attempts
	rc, err := r.tr.Send(m.Destination, packed[lxmf.DestinationLength:], transport.SendOptions{
		OnConclude: func(rc *transport.Receipt) { r.onConclude(msgID, attempts, rc) },
	})
	if err != nil {
		if errors.Is(err, transport.ErrTooLarge) {
			r.fail(ctx, m, "message too large for opportunistic delivery")
			return
		}
		r.log.Debug("lxmf send failed; will retry", "message_id", m.ID.String(), "error", err)
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not send: " + err.Error()})
		return
	}
	// A conclusion is handled on this goroutine after attempt returns, so
	// counting the receipt here cannot miss it.
	r.mu.Lock()
	fl := r.inflight[m.ID]
	if fl == nil {
		fl = &flight{}
		r.inflight[m.ID] = fl
	}
	fl.receipts++
	if until := now.Add(rc.Timeout()); until.After(fl.until) {
		fl.until = until
	}
	r.mu.Unlock()
	r.log.Debug("lxmf message sent", "message_id", m.ID.String(), "destination", m.Destination.String(), "attempt", m.Attempts)
	r.update(ctx, m.ID, Update{State: StateSent, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
}

func (r *Router) known(dest wire.Hash) bool {
	_, _, ok := r.tr.Recall(dest)
	return ok
}

// requestPath asks for a path at most once per PathWait per destination.
func (r *Router) requestPath(dest wire.Hash, now time.Time) {
	r.mu.Lock()
	last, ok := r.pathAsked[dest]
	if ok && now.Sub(last) < r.opts.PathWait {
		r.mu.Unlock()
		return
	}
	r.pathAsked[dest] = now
	for h, t := range r.pathAsked {
		if now.Sub(t) > r.opts.MaxAge {
			delete(r.pathAsked, h)
		}
	}
	r.mu.Unlock()
	if err := r.tr.RequestPath(dest); err != nil {
		r.log.Debug("path request failed", "destination", dest.String(), "error", err)
	}
}

// withStamp returns the packed message with a proof-of-work stamp when the
// recipient announced a stamp cost. The stamp changes neither the message id
// nor the signature, so a retry is still the same message.
func (r *Router) withStamp(ctx context.Context, m Outbound, appData []byte) ([]byte, error) {
	ad, err := lxmf.ParseDeliveryAppData(appData)
	if err != nil || ad.StampCost <= 0 {
		return m.Packed, nil //nolint:nilerr // unparsable app data means no stamp cost
	}
	r.mu.Lock()
	cached, ok := r.stamped[m.ID]
	r.mu.Unlock()
	if ok {
		return cached, nil
	}
	if ad.StampCost > r.opts.MaxStampCost {
		return nil, fmt.Errorf("recipient requires stamp cost %d, above the limit %d", ad.StampCost, r.opts.MaxStampCost)
	}
	msg, err := lxmf.Unpack(m.Packed, msgpack.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored message: %w", err)
	}
	if len(msg.Stamp) > 0 {
		return m.Packed, nil
	}
	if _, err := msg.GenerateStamp(ctx, ad.StampCost, nil); err != nil {
		return nil, fmt.Errorf("generate stamp: %w", err)
	}
	if err := msg.Pack(r.opts.Identity); err != nil {
		return nil, fmt.Errorf("pack with stamp: %w", err)
	}
	if msg.ID != m.ID {
		return nil, errors.New("stamped message changed its id")
	}
	r.mu.Lock()
	r.stamped[m.ID] = msg.Packed
	r.mu.Unlock()
	return msg.Packed, nil
}

// onConclude runs on a transport goroutine: hand over to the loop.
func (r *Router) onConclude(id wire.FullHash, attempts int, rc *transport.Receipt) {
	r.pushConclusion(conclusion{id: id, attempts: attempts, status: rc.Status(), rtt: rc.RTT()})
}

// Conclusion states, shared by packet receipts and resources.
const (
	receiptDelivered = transport.ReceiptDelivered
	receiptFailed    = transport.ReceiptFailed
)

func (r *Router) pushConclusion(c conclusion) {
	r.mu.Lock()
	r.concluded = append(r.concluded, c)
	r.mu.Unlock()
	r.Wake()
}

// conclude records a receipt outcome. A proof delivers the message; a
// receipt that times out changes nothing, since the next attempt is already
// scheduled.
func (r *Router) conclude(ctx context.Context, c conclusion) {
	r.mu.Lock()
	if fl := r.inflight[c.id]; fl != nil {
		fl.receipts--
		if fl.receipts <= 0 {
			delete(r.inflight, c.id)
		}
	}
	if c.status == receiptDelivered {
		delete(r.stamped, c.id)
		r.unwaitLocked(c.id)
	}
	r.mu.Unlock()
	if c.status != receiptDelivered {
		r.log.Debug("no lxmf delivery proof for an attempt", "message_id", c.id.String(), "receipt", c.status.String(), "attempt", c.attempts)
		return
	}
	r.log.Debug("lxmf message delivered", "message_id", c.id.String(), "rtt", c.rtt, "attempt", c.attempts)
	r.update(ctx, c.id, r.concludedUpdate(c.id, c.attempts))
}
