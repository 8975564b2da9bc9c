package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// ErrNoPropagationNode means a propagated message was sent with no
// propagation node chosen.
var ErrNoPropagationNode = errors.New("no propagation node chosen")

// farFuture is the next attempt of a propagated message the node accepted:
// "sent" is its final state (the reference marks it SENT and drops it from
// the outbound queue; recipients never prove propagated messages).
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// propState is the router's propagated-delivery state, guarded by r.mu.
type propState struct {
	node    wire.Hash
	hasNode bool
	// entries caches a message's stamped propagated form per message id, so
	// retries upload the same transient id.
	entries map[wire.FullHash][]byte
	// uploads are messages whose current receipt is a node upload: its
	// proof makes them sent, not delivered.
	uploads map[wire.FullHash]bool
}

// SetPropagationNode chooses the propagation node (its lxmf.propagation
// destination hash) propagated messages are uploaded to. A zero hash
// clears the choice. No link is opened until a message needs it.
func (r *Router) SetPropagationNode(h wire.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prop.hasNode && r.prop.node == h {
		return
	}
	r.prop.node, r.prop.hasNode = h, h != (wire.Hash{})
	clear(r.prop.entries)
}

// PropagationNode returns the chosen propagation node.
func (r *Router) PropagationNode() (wire.Hash, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.prop.node, r.prop.hasNode
}

// uploaded reports (and forgets) whether a concluded receipt was a node
// upload. Called with r.mu held.
func (r *Router) uploadedLocked(id wire.FullHash) bool {
	if !r.prop.uploads[id] {
		return false
	}
	delete(r.prop.uploads, id)
	delete(r.prop.entries, id)
	return true
}

// forgetPropLocked drops a message's propagated state. Called with r.mu
// held.
func (r *Router) forgetPropLocked(id wire.FullHash) {
	delete(r.prop.uploads, id)
	delete(r.prop.entries, id)
}

// concludedUpdate is the state a delivered receipt gives a message:
// delivered, or sent (final) for an upload to a propagation node.
func (r *Router) concludedUpdate(id wire.FullHash, attempts int) Update {
	r.mu.Lock()
	up := r.uploadedLocked(id)
	r.mu.Unlock()
	if up {
		return Update{State: StateSent, Attempts: attempts, NextAttempt: farFuture}
	}
	return Update{State: StateDelivered, Attempts: attempts}
}

// propagationEntry returns the message's propagated form with its
// propagation stamp (LXMessage.pack for PROPAGATED): encrypted for the
// recipient, and stamped to the node's announced cost.
func (r *Router) propagationEntry(ctx context.Context, m Outbound, recipient *identity.Identity, nodeAppData []byte) ([]byte, error) {
	r.mu.Lock()
	cached, ok := r.prop.entries[m.ID]
	r.mu.Unlock()
	if ok {
		return cached, nil
	}
	cost := 0
	if ad, err := lxmf.ParsePropagationNodeAppData(nodeAppData); err == nil {
		cost = ad.StampCost
	}
	if cost > r.opts.MaxStampCost {
		return nil, fmt.Errorf("propagation node requires stamp cost %d, above the limit %d", cost, r.opts.MaxStampCost)
	}
	msg, err := lxmf.Unpack(m.Packed, msgpack.Limits{MaxSize: len(m.Packed) + 1})
	if err != nil {
		return nil, fmt.Errorf("stored message: %w", err)
	}
	data, tid, err := msg.EncryptFor(recipient, nil)
	if err != nil {
		return nil, err
	}
	stamp, _, err := lxmf.GeneratePropagationStamp(ctx, tid, cost, nil)
	if err != nil {
		return nil, fmt.Errorf("generate propagation stamp: %w", err)
	}
	entry := append(data, stamp...)
	r.mu.Lock()
	if r.prop.entries == nil {
		r.prop.entries = map[wire.FullHash][]byte{}
	}
	r.prop.entries[m.ID] = entry
	r.mu.Unlock()
	return entry, nil
}

// attemptPropagated makes one upload attempt (LXMRouter.process_outbound
// for PROPAGATED): open or reuse a link to the chosen propagation node and
// send [timestamp, [entry]] as one link packet when it fits, else as a
// resource; the node's proof makes the message sent.
func (r *Router) attemptPropagated(ctx context.Context, m Outbound, now time.Time) {
	r.mu.Lock()
	node, ok := r.prop.node, r.prop.hasNode
	r.unwaitLocked(m.ID)
	l := r.links[node]
	fl := r.inflight[m.ID]
	r.mu.Unlock()
	if !ok {
		r.fail(ctx, m, ErrNoPropagationNode.Error())
		return
	}
	if fl != nil && fl.receipts > 0 {
		r.update(ctx, m.ID, Update{State: StateSending, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
		return
	}
	recipient, recipientAppData, known := r.tr.Recall(m.Destination)
	if m.Destination == r.dest.Hash() {
		recipient, recipientAppData, known = r.opts.Identity, r.appData(), true
	}
	if !known {
		// The recipient's identity is needed to encrypt for it.
		r.requestPath(m.Destination, now)
		m.Attempts++
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.opts.PathWait), Err: "waiting for the recipient's identity"})
		return
	}
	_, nodeAppData, nodeKnown := r.tr.Recall(node)
	if !nodeKnown || !r.tr.HasPath(node) {
		r.requestPath(node, now)
	}
	if !nodeKnown {
		m.Attempts++
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.opts.PathWait), Err: "waiting for a path to the propagation node"})
		return
	}
	packed, err := r.withStamp(ctx, m, recipientAppData)
	if err != nil {
		r.fail(ctx, m, err.Error())
		return
	}
	m.Packed = packed
	entry, err := r.propagationEntry(ctx, m, recipient, nodeAppData)
	if err != nil {
		r.fail(ctx, m, err.Error())
		return
	}
	l, ready := r.linkTo(ctx, m, node, l, now, "propagation node")
	if !ready {
		return
	}
	r.mu.Lock()
	delete(r.linkOpened, node)
	r.linkUsed[node] = now
	r.mu.Unlock()
	container := lxmf.PackPropagationContainer(lxmf.Timestamp(now), entry)
	m.Attempts++
	r.update(ctx, m.ID, Update{State: StateSending, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
	msgID, attempts := m.ID, m.Attempts
	r.mu.Lock()
	if fl = r.inflight[m.ID]; fl == nil {
		fl = &flight{}
		r.inflight[m.ID] = fl
	}
	fl.receipts++
	if r.prop.uploads == nil {
		r.prop.uploads = map[wire.FullHash]bool{}
	}
	r.prop.uploads[m.ID] = true
	r.mu.Unlock()
	if lxmf.PropagationRepresentation(len(container)) == lxmf.RepresentationPacket && len(container) <= l.MDU() {
		var rc *link.PacketReceipt
		if rc, err = l.SendWithReceipt(container, r.backoff(attempts)); err == nil {
			r.mu.Lock()
			r.packets = append(r.packets, pendingPacket{rc: rc, id: msgID, attempts: attempts})
			r.mu.Unlock()
			r.wg.Add(1)
			go r.awaitPacket(rc)
		}
	} else {
		_, err = l.SendResource(container, link.ResourceOptions{Concluded: func(res *link.Resource) {
			st := receiptFailed
			if res.Err() == nil {
				st = receiptDelivered
			}
			r.pushConclusion(conclusion{id: msgID, attempts: attempts, status: st})
		}})
	}
	if err != nil {
		r.mu.Lock()
		if fl.receipts--; fl.receipts <= 0 {
			delete(r.inflight, msgID)
		}
		delete(r.prop.uploads, msgID)
		r.mu.Unlock()
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not upload: " + err.Error()})
		return
	}
	r.log.Debug("lxmf message uploaded to propagation node", "message_id", m.ID.String(), "node", node.String(), "attempt", m.Attempts, "bytes", len(container))
	r.update(ctx, m.ID, Update{State: StateSending, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
}

// linkTo returns an active link to target for message m, opening one when
// needed; when it is not ready yet, m waits for it (its establishment wakes
// the loop) and ready is false.
func (r *Router) linkTo(ctx context.Context, m Outbound, target wire.Hash, l *link.Link, now time.Time, what string) (*link.Link, bool) {
	if l != nil && l.Status() == link.StatusClosed {
		r.mu.Lock()
		_, neverUp := r.linkOpened[target]
		if r.links[target] == l {
			delete(r.links, target)
			delete(r.linkOpened, target)
		}
		r.mu.Unlock()
		if neverUp {
			m.Attempts++
			r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not establish a link to the " + what})
			return nil, false
		}
		l = nil
	}
	if l == nil {
		var err error
		l, err = r.opts.Links.Open(target, link.Callbacks{
			Established: func(*link.Link) { r.linkUp(target) },
			Closed:      func(*link.Link) { r.linkUp(target) },
		})
		if err != nil {
			m.Attempts++
			r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not open a link: " + err.Error()})
			return nil, false
		}
		r.mu.Lock()
		r.links[target] = l
		r.linkOpened[target] = now
		r.linkUsed[target] = now
		r.mu.Unlock()
	}
	if l.Status() == link.StatusActive {
		return l, true
	}
	r.mu.Lock()
	opened, ok := r.linkOpened[target]
	if !ok {
		opened = now
		r.linkOpened[target] = now
	}
	r.mu.Unlock()
	if now.Sub(opened) >= linkWait {
		_ = l.Close()
		r.mu.Lock()
		delete(r.links, target)
		delete(r.linkOpened, target)
		r.mu.Unlock()
		m.Attempts++
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not establish a link to the " + what})
		return nil, false
	}
	r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: opened.Add(linkWait), Err: "waiting for a link to the " + what})
	r.mu.Lock()
	w := r.linkWaiters[target]
	if w == nil {
		w = map[wire.FullHash]Outbound{}
		r.linkWaiters[target] = w
	}
	w[m.ID] = m
	r.mu.Unlock()
	return nil, false
}

// DeliverPropagated decrypts a message downloaded from a propagation node
// (its propagated form, without stamp) and hands it to the Sink as the
// reference's lxmf_propagation does for a local destination. It reports
// whether the message is stored (or was before).
func (r *Router) DeliverPropagated(lxmfData []byte) error {
	if len(lxmfData) < lxmf.DestinationLength || wire.Hash(lxmfData[:lxmf.DestinationLength]) != r.dest.Hash() {
		return fmt.Errorf("propagated message: %w", lxmf.ErrDestinationMismatch)
	}
	packed, _, err := lxmf.DecryptPropagated(lxmfData, r.opts.Identity, nil, false)
	if err != nil {
		return err
	}
	m, err := lxmf.Unpack(packed, r.directLimits())
	if err != nil {
		return fmt.Errorf("propagated message: %w", err)
	}
	if !r.accept(m, lxmf.MethodPropagated, 0) {
		return errors.New("propagated message refused (signature, stamp or store)")
	}
	return nil
}
