package router

import (
	"context"
	"errors"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// deliverTimeout bounds the Sink's store write for one inbound message.
const deliverTimeout = 5 * time.Second

// onPacket handles an opportunistic message addressed to the delivery
// destination (LXMRouter.delivery_packet and lxmf_delivery). It runs on the
// receiving interface's goroutine as the transport's ProofRequested
// callback: its result decides whether the packet is proven, so a proof is
// sent only once the Sink has stored the message (or already had it).
// Malformed messages, bad signatures and missing stamps are not proven.
func (r *Router) onPacket(d transport.Delivery) bool {
	m, err := lxmf.UnpackOpportunistic(d.Data, d.Destination, r.opts.Limits)
	if err != nil {
		r.log.Debug("dropping malformed lxmf message", "error", err)
		return false
	}
	return r.accept(m, lxmf.MethodOpportunistic, d.Hops)
}

// accept checks a received message's signature and stamp and hands it to
// the Sink; it reports whether the message is stored (and may be proven).
func (r *Router) accept(m *lxmf.Message, method lxmf.Method, hops uint8) bool {
	if method != lxmf.MethodPropagated && !r.limit.allow(m.Source, r.opts.Clock.Now()) {
		r.log.Debug("inbound lxmf rate limit reached; not proving, the sender will retry", "source", m.Source.String())
		return false
	}
	verified := false
	if src, _, ok := r.tr.Recall(m.Source); ok {
		if err := m.Verify(src); err != nil {
			r.log.Info("dropping lxmf message with invalid signature", "source", m.Source.String(), "error", err)
			return false
		}
		verified = true
	} else {
		// As the reference, accept it unverified (SOURCE_UNKNOWN), and ask
		// for the sender's path so its identity becomes known.
		r.log.Debug("lxmf message from unknown source", "source", m.Source.String())
		if err := r.tr.RequestPath(m.Source); err != nil {
			r.log.Debug("path request for lxmf source failed", "error", err)
		}
	}
	if cost := r.StampCost(); cost > 0 {
		if _, ok := m.ValidateStamp(cost, nil); !ok {
			r.log.Info("dropping lxmf message with invalid stamp", "source", m.Source.String())
			return false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
	defer cancel()
	in := Inbound{Message: m, Method: method, Verified: verified, Hops: hops, ReceivedAt: r.opts.Clock.Now()}
	if err := r.sink.Deliver(ctx, in); errors.Is(err, ErrDeferred) {
		r.log.Debug("lxmf message deferred by the sink; not proving it", "message_id", m.ID.String(), "error", err)
		return false
	} else if err != nil {
		r.log.Warn("storing lxmf message failed; not proving it", "message_id", m.ID.String(), "error", err)
		return false
	}
	return true
}
