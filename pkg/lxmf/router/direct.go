package router

import (
	"context"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// DirectAvailable reports whether direct (link) delivery is configured.
func (r *Router) DirectAvailable() bool { return r.opts.Links != nil }

// listenDirect accepts delivery links (LXMRouter.delivery_link_established):
// messages arrive as link packets or, when larger, as resources.
func (r *Router) listenDirect() error {
	if r.opts.Links == nil {
		return nil
	}
	// A message is proven only once the Sink stored it (or already had
	// it): Confirm gates the proof of a link packet, ConfirmResource the
	// proof of a resource, as onPacket does for opportunistic delivery.
	err := r.opts.Links.Listen(r.dest, link.ListenConfig{
		ProveAll:        true,
		Confirm:         r.onLinkPacket,
		ConfirmResource: r.onLinkResource,
		Callbacks: link.Callbacks{
			ResourceAdvertised: func(_ *link.Link, a *link.Advertisement) bool {
				return a.DataSize > 0 && a.DataSize <= r.maxDirect.Load() &&
					(r.opts.AdmitResource == nil || r.opts.AdmitResource(a.DataSize))
			},
			ResourceConcluded: r.onLinkResourceConcluded,
		},
	})
	if err != nil {
		return fmt.Errorf("listen for lxmf delivery links: %w", err)
	}
	return nil
}

func (r *Router) directLimits() msgpack.Limits {
	return msgpack.Limits{MaxSize: r.MaxDirectSize()}
}

// onLinkPacket handles a message in one link packet (LXMRouter.delivery_packet
// for LINK destinations). It is the link's Confirm hook: the packet is
// proven only when it returns true, after the Sink stored the message.
func (r *Router) onLinkPacket(_ *link.Link, data []byte) bool {
	return r.deliverPacked(data, r.directLimits())
}

// onLinkResource handles a message that arrived as a resource
// (LXMRouter.delivery_resource_concluded). It is the link's
// ConfirmResource hook: the resource is proven only when it returns true.
func (r *Router) onLinkResource(_ *link.Link, res *link.Resource) bool {
	return r.deliverPacked(res.Data(), r.directLimits())
}

// onLinkResourceConcluded logs inbound delivery resources that failed;
// complete ones were handled by onLinkResource.
func (r *Router) onLinkResourceConcluded(_ *link.Link, res *link.Resource) {
	if res.Err() != nil {
		r.log.Debug("lxmf delivery resource failed", "error", res.Err())
	}
}

func (r *Router) deliverPacked(data []byte, lim msgpack.Limits) bool {
	m, err := lxmf.Unpack(data, lim)
	if err != nil {
		r.log.Debug("dropping malformed direct lxmf message", "error", err)
		return false
	}
	if m.Destination != r.dest.Hash() {
		r.log.Debug("dropping direct lxmf message for another destination", "destination", m.Destination.String())
		return false
	}
	return r.accept(m, lxmf.MethodDirect, 0)
}

// linkWait is how long an attempt waits for a link to come up.
const linkWait = 15 * time.Second

// attemptDirect makes one direct delivery attempt (LXMRouter.process_outbound
// for DIRECT): open or reuse a link to the recipient, then send the message
// in one link packet when it fits, else as a resource; the packet's or the
// resource's proof marks it delivered.
func (r *Router) attemptDirect(ctx context.Context, m Outbound, now time.Time) {
	r.mu.Lock()
	r.unwaitLocked(m.ID)
	l := r.links[m.Destination]
	fl := r.inflight[m.ID]
	r.mu.Unlock()
	if fl != nil && fl.receipts > 0 {
		// The resource of an earlier attempt is still moving.
		r.update(ctx, m.ID, Update{State: StateSent, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
		return
	}
	if l != nil && l.Status() == link.StatusClosed {
		r.mu.Lock()
		_, neverUp := r.linkOpened[m.Destination]
		if r.links[m.Destination] == l {
			delete(r.links, m.Destination)
			delete(r.linkOpened, m.Destination)
		}
		r.mu.Unlock()
		if neverUp {
			// The link closed before it was established: that attempt failed.
			m.Attempts++
			r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not establish a link to the recipient"})
			return
		}
		l = nil
	}
	if l == nil {
		var err error
		dest := m.Destination
		l, err = r.opts.Links.Open(dest, link.Callbacks{
			Established: func(*link.Link) { r.linkUp(dest) },
			Closed:      func(*link.Link) { r.linkUp(dest) },
		})
		if err != nil {
			m.Attempts++
			r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not open a link: " + err.Error()})
			return
		}
		r.mu.Lock()
		r.links[m.Destination] = l
		r.linkOpened[m.Destination] = now
		r.linkUsed[m.Destination] = now
		r.mu.Unlock()
	}
	if l.Status() != link.StatusActive {
		r.mu.Lock()
		opened, ok := r.linkOpened[m.Destination]
		if !ok {
			opened = now
			r.linkOpened[m.Destination] = now
		}
		r.mu.Unlock()
		if now.Sub(opened) >= linkWait {
			// The link did not come up: that attempt failed.
			_ = l.Close()
			r.mu.Lock()
			delete(r.links, m.Destination)
			delete(r.linkOpened, m.Destination)
			r.mu.Unlock()
			m.Attempts++
			r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not establish a link to the recipient"})
			return
		}
		// Wait for the link; its establishment wakes the loop and retries.
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: opened.Add(linkWait), Err: "waiting for a link to the recipient"})
		r.mu.Lock()
		w := r.linkWaiters[m.Destination]
		if w == nil {
			w = map[wire.FullHash]Outbound{}
			r.linkWaiters[m.Destination] = w
		}
		w[m.ID] = m
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	delete(r.linkOpened, m.Destination)
	r.linkUsed[m.Destination] = now
	r.mu.Unlock()
	m.Attempts++
	r.update(ctx, m.ID, Update{State: StateSending, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
	msgID, attempts := m.ID, m.Attempts
	r.mu.Lock()
	fl = r.inflight[m.ID]
	if fl == nil {
		fl = &flight{}
		r.inflight[m.ID] = fl
	}
	fl.receipts++
	r.mu.Unlock()
	var err error
	if len(m.Packed) <= l.MDU() {
		// One link packet, proven by the recipient (LXMessage.send for
		// DIRECT with the PACKET representation). The receipt stays open
		// until this attempt's retry is due: the link's default (6 RTTs of
		// the handshake, milliseconds on a fast hop) expired in bursts while
		// the proof was still queued behind the burst, so stored messages
		// were sent again 10-30 s later.
		var rc *link.PacketReceipt
		if rc, err = l.SendWithReceipt(m.Packed, r.backoff(m.Attempts)); err == nil {
			r.mu.Lock()
			r.packets = append(r.packets, pendingPacket{rc: rc, id: msgID, attempts: attempts})
			r.mu.Unlock()
			r.wg.Add(1)
			go r.awaitPacket(rc)
		}
	} else {
		opts := link.ResourceOptions{Concluded: func(res *link.Resource) {
			st := receiptFailed
			if res.Err() == nil {
				st = receiptDelivered
			}
			r.pushConclusion(conclusion{id: msgID, attempts: attempts, status: st})
		}}
		if cb := r.opts.Progress; cb != nil {
			opts.Progress = func(res *link.Resource) {
				total := res.Size()
				cb(msgID, int64(res.Progress()*float64(total)), total)
			}
		}
		_, err = l.SendResource(m.Packed, opts)
	}
	if err != nil {
		r.mu.Lock()
		if fl.receipts--; fl.receipts <= 0 {
			delete(r.inflight, msgID)
		}
		r.mu.Unlock()
		r.update(ctx, m.ID, Update{State: StateQueued, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts)), Err: "could not send: " + err.Error()})
		return
	}
	r.log.Debug("lxmf message sent over link", "message_id", m.ID.String(), "destination", m.Destination.String(), "attempt", m.Attempts, "bytes", len(m.Packed))
	r.update(ctx, m.ID, Update{State: StateSent, Attempts: m.Attempts, NextAttempt: now.Add(r.backoff(m.Attempts))})
}

// pendingPacket is a direct message sent as one link packet, waiting for
// its proof.
type pendingPacket struct {
	rc       *link.PacketReceipt
	id       wire.FullHash
	attempts int
}

// awaitPacket wakes the loop when a link packet's proof arrives (or its
// timeout, which the link's job loop enforces); the loop reads the outcome.
func (r *Router) awaitPacket(rc *link.PacketReceipt) {
	defer r.wg.Done()
	select {
	case <-rc.Done():
		r.Wake()
	case <-r.stop:
	}
}

// collectPackets turns concluded link packet receipts into conclusions.
func (r *Router) collectPackets() []conclusion {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []conclusion
	keep := r.packets[:0]
	for _, p := range r.packets {
		select {
		case <-p.rc.Done():
			st := receiptFailed
			if p.rc.Delivered() {
				st = receiptDelivered
			}
			out = append(out, conclusion{id: p.id, attempts: p.attempts, status: st, rtt: p.rc.RTT()})
		default:
			keep = append(keep, p)
		}
	}
	clear(r.packets[len(keep):])
	r.packets = keep
	return out
}

// linkUp runs on a link goroutine when a delivery link is established or
// closed: the messages waiting for it are tried again at once.
func (r *Router) linkUp(dest wire.Hash) {
	r.mu.Lock()
	r.linkReady = append(r.linkReady, dest)
	r.mu.Unlock()
	r.Wake()
}

// retryLinkWaiters attempts the messages that waited for a link which has
// now changed state.
func (r *Router) retryLinkWaiters(ctx context.Context, dests []wire.Hash) {
	now := r.opts.Clock.Now()
	for _, d := range dests {
		r.mu.Lock()
		w := r.linkWaiters[d]
		delete(r.linkWaiters, d)
		r.mu.Unlock()
		for _, m := range w {
			r.attempt(ctx, m, now)
		}
		// Forget a closed link, so peers that come and go leave nothing behind.
		r.mu.Lock()
		if l := r.links[d]; l != nil && l.Status() == link.StatusClosed {
			delete(r.links, d)
			delete(r.linkOpened, d)
		}
		r.mu.Unlock()
	}
}

// Stats is a snapshot of the router's in-memory state, for diagnostics and
// leak tests: everything in it must drain when peers go away.
type Stats struct {
	InFlight     int // messages with receipts or resources waiting for a proof
	Links        int // delivery links the router opened and still holds
	WaitingLinks int // destinations with messages waiting for a link
	PathRequests int // destinations with a recent path request
}

// Stats returns a snapshot of the router's in-memory state.
func (r *Router) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{InFlight: len(r.inflight), Links: len(r.links), WaitingLinks: len(r.linkWaiters), PathRequests: len(r.pathAsked)}
}

// unwaitLocked forgets a message waiting for a link. Called with r.mu held.
func (r *Router) unwaitLocked(id wire.FullHash) {
	for d, w := range r.linkWaiters {
		if _, ok := w[id]; ok {
			delete(w, id)
			if len(w) == 0 {
				delete(r.linkWaiters, d)
			}
			return
		}
	}
}

// cleanLinks forgets closed delivery links and closes the ones idle for
// longer than LinkIdle (LXMRouter.clean_links).
func (r *Router) cleanLinks(now time.Time) {
	var idle []*link.Link
	r.mu.Lock()
	for d, l := range r.links {
		closed := l.Status() == link.StatusClosed
		if !closed && now.Sub(r.linkUsed[d]) <= r.opts.LinkIdle {
			continue
		}
		if _, waiting := r.linkWaiters[d]; waiting && !closed {
			continue
		}
		if !closed {
			idle = append(idle, l)
		}
		delete(r.links, d)
		delete(r.linkOpened, d)
		delete(r.linkUsed, d)
	}
	r.mu.Unlock()
	for _, l := range idle {
		_ = l.Close()
	}
}

// closeLinks tears down the delivery links the router opened.
func (r *Router) closeLinks() {
	r.mu.Lock()
	ls := make([]*link.Link, 0, len(r.links))
	for _, l := range r.links {
		ls = append(ls, l)
	}
	r.links = map[wire.Hash]*link.Link{}
	r.linkOpened = map[wire.Hash]time.Time{}
	r.linkUsed = map[wire.Hash]time.Time{}
	r.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
}
