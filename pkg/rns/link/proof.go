package link

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// trafficTimeoutMin is Link.TRAFFIC_TIMEOUT_MIN_MS.
const trafficTimeoutMin = 5 * time.Millisecond

// maxPacketReceipts bounds outstanding packet receipts per link.
const maxPacketReceipts = 1024

// PacketReceipt tracks the proof of one data packet sent on a link
// (PacketReceipt for LINK destinations): the peer proves it with an explicit
// proof, the packet hash signed with its link signing key.
type PacketReceipt struct {
	hash     wire.FullHash
	sentAt   time.Time
	deadline time.Time

	mu        sync.Mutex
	delivered bool
	err       error
	rtt       time.Duration
	done      chan struct{}
}

// Hash returns the packet hash.
func (r *PacketReceipt) Hash() wire.FullHash { return r.hash }

// Done is closed when the packet is proven or the receipt times out.
func (r *PacketReceipt) Done() <-chan struct{} { return r.done }

// Delivered reports whether a valid proof arrived.
func (r *PacketReceipt) Delivered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

// Err returns ErrTimeout or ErrClosed after a failure, else nil.
func (r *PacketReceipt) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// RTT returns the time from sending to the proof.
func (r *PacketReceipt) RTT() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rtt
}

func (r *PacketReceipt) conclude(delivered bool, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return
	default:
	}
	r.delivered, r.err = delivered, err
	if delivered {
		r.rtt = now.Sub(r.sentAt)
	}
	close(r.done)
}

// SendWithReceipt sends plaintext of at most MDU bytes and returns a
// receipt that completes when the peer proves the packet (as the reference
// does for destinations proving all packets, and LXMF for delivered
// messages). timeout 0 means the reference's RTT x 6 (at least 5 ms).
func (l *Link) SendWithReceipt(data []byte, timeout time.Duration) (*PacketReceipt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != StatusActive && l.status != StatusStale {
		return nil, fmt.Errorf("link %s: %w", l.id, ErrNotActive)
	}
	if len(data) > l.mdu {
		return nil, fmt.Errorf("link %s: %d bytes over mdu %d: %w", l.id, len(data), l.mdu, ErrTooLarge)
	}
	if len(l.receipts) >= maxPacketReceipts {
		return nil, fmt.Errorf("link %s: too many outstanding receipts: %w", l.id, ErrTooLarge)
	}
	p, err := l.sendLocked(wire.Data, wire.ContextNone, data, false, false)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = max(time.Duration(trafficTimeoutFactor)*l.rtt, trafficTimeoutMin)
	}
	now := l.m.clock.Now()
	r := &PacketReceipt{hash: p.Hash(), sentAt: now, deadline: now.Add(timeout), done: make(chan struct{})}
	l.receipts[r.hash] = r
	return r, nil
}

// SetProveAll makes the link prove every data packet it receives
// (Destination.PROVE_ALL); ListenConfig.ProveAll sets it for inbound links.
func (l *Link) SetProveAll(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.proveAll = on
}

// proveLocked sends an explicit proof of a received packet
// (Link.prove_packet): packet hash and its signature by this end's link
// signing key. Called with l.mu held.
func (l *Link) proveLocked(hash wire.FullHash) {
	var sig []byte
	if l.initiator {
		if l.sigPriv == nil {
			return
		}
		sig = ed25519.Sign(l.sigPriv, hash[:])
	} else {
		var err error
		if sig, err = l.destID.Sign(hash[:]); err != nil {
			return
		}
	}
	_, _ = l.sendLocked(wire.Proof, wire.ContextNone, append(append([]byte(nil), hash[:]...), sig...), true, false)
}

// proveIf proves a received packet once its Confirm hook said yes. It
// takes l.mu, so it runs as an effect after the receive path unlocked.
func (l *Link) proveIf(ok bool, hash wire.FullHash) {
	if !ok {
		l.m.log.Debug("link packet not confirmed; not proving it", "link", l.id.String())
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == StatusClosed {
		return
	}
	l.proveLocked(hash)
}

// packetProofLocked validates an explicit proof for an outstanding receipt
// (PacketReceipt.validate_link_proof). Called with l.mu held.
func (l *Link) packetProofLocked(data []byte, now time.Time) {
	if len(data) < wire.FullHashLen+wire.SignatureLen {
		return
	}
	var h wire.FullHash
	copy(h[:], data)
	r := l.receipts[h]
	if r == nil || l.peerSig == nil {
		// Late (its receipt already timed out) or for a packet never sent on this link: the
		// sender's next attempt is what is left, so say so.
		l.m.drops.Drop(l.m.log, now, DropProofNoReceipt, "link", l.id.String())
		return
	}
	if !ed25519.Verify(l.peerSig, h[:], data[wire.FullHashLen:wire.FullHashLen+wire.SignatureLen]) {
		l.m.drops.Drop(l.m.log, now, DropProofInvalid, "link", l.id.String())
		return
	}
	delete(l.receipts, h)
	r.conclude(true, nil, now)
}

// Drop reasons of the link layer, counted by Manager.Drops.
const (
	DropProofNoReceipt = "link_proof_no_receipt" // a proof for no pending receipt (late or unknown)
	DropProofInvalid   = "link_proof_bad_signature"
	DropReceiptTimeout = "link_receipt_timeout" // no proof before the receipt's deadline
)

// Drops returns the link layer's drop counts by reason (the Drop* constants). The map is a copy.
func (m *Manager) Drops() map[string]uint64 { return m.drops.Counts() }

// receiptJobsLocked times out packet receipts. Called with l.mu held.
func (l *Link) receiptJobsLocked(now time.Time) {
	for h, r := range l.receipts {
		if now.After(r.deadline) {
			l.m.drops.Drop(l.m.log, now, DropReceiptTimeout, "link", l.id.String())
			delete(l.receipts, h)
			r.conclude(false, ErrTimeout, now)
		}
	}
}
