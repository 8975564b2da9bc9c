package transport

import (
	"bytes"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// ReceiptStatus is the state of a sent packet (PacketReceipt.status).
type ReceiptStatus int

// Receipt states.
const (
	ReceiptSent ReceiptStatus = iota
	ReceiptDelivered
	ReceiptFailed
	ReceiptCulled
)

// String returns "sent", "delivered", "failed" or "culled".
func (s ReceiptStatus) String() string {
	switch s {
	case ReceiptDelivered:
		return "delivered"
	case ReceiptFailed:
		return "failed"
	case ReceiptCulled:
		return "culled"
	default:
		return "sent"
	}
}

// Proof payload sizes (PacketReceipt.EXPL_LENGTH, IMPL_LENGTH).
const (
	explicitProofLen = wire.FullHashLen + wire.SignatureLen
	implicitProofLen = wire.SignatureLen
)

// Receipt tracks one sent packet until a valid proof arrives (delivered) or
// its timeout passes (failed), like the reference's PacketReceipt.
type Receipt struct {
	hash    wire.FullHash
	dest    wire.Hash
	id      *identity.Identity
	sentAt  time.Time
	timeout time.Duration

	mu          sync.Mutex
	status      ReceiptStatus
	concludedAt time.Time
	done        chan struct{}
	onConclude  func(*Receipt)
}

// Hash returns the packet hash the receipt waits a proof for.
func (r *Receipt) Hash() wire.FullHash { return r.hash }

// Destination returns the destination the packet was sent to.
func (r *Receipt) Destination() wire.Hash { return r.dest }

// Status returns the current status.
func (r *Receipt) Status() ReceiptStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Done is closed when the receipt concludes (delivered, failed or culled).
func (r *Receipt) Done() <-chan struct{} { return r.done }

// RTT returns the time from sending to the proof, or zero while undelivered.
func (r *Receipt) RTT() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status != ReceiptDelivered {
		return 0
	}
	return r.concludedAt.Sub(r.sentAt)
}

// Timeout returns the receipt's timeout.
func (r *Receipt) Timeout() time.Duration { return r.timeout }

func (r *Receipt) conclude(s ReceiptStatus, now time.Time, fx *effects) bool {
	r.mu.Lock()
	if r.status != ReceiptSent {
		r.mu.Unlock()
		return false
	}
	r.status, r.concludedAt = s, now
	cb := r.onConclude
	close(r.done)
	r.mu.Unlock()
	if cb != nil {
		fx.add(func() { cb(r) })
	}
	return true
}

// newReceipt registers a receipt for a sent packet. Called with t.mu held.
func (t *Transport) newReceipt(hash wire.FullHash, dest wire.Hash, id *identity.Identity, now time.Time, onConclude func(*Receipt), fx *effects) *Receipt {
	hops := wire.MaxHops
	if pe := t.paths[dest]; pe != nil {
		hops = int(pe.hops)
	}
	r := &Receipt{
		hash: hash, dest: dest, id: id, sentAt: now,
		timeout: perHopTimeout + perHopTimeout*time.Duration(hops),
		done:    make(chan struct{}), onConclude: onConclude,
	}
	for len(t.receiptOrder) >= t.opts.MaxReceipts {
		old := t.receiptOrder[0]
		t.receiptOrder = t.receiptOrder[1:]
		delete(t.receipts, old.hash.Truncated())
		old.conclude(ReceiptCulled, now, fx)
	}
	t.receipts[hash.Truncated()] = r
	t.receiptOrder = append(t.receiptOrder, r)
	return r
}

func (t *Transport) dropReceipt(r *Receipt) {
	delete(t.receipts, r.hash.Truncated())
	for k, x := range t.receiptOrder {
		if x == r {
			t.receiptOrder = append(t.receiptOrder[:k], t.receiptOrder[k+1:]...)
			return
		}
	}
}

// handleProof forwards a proof along the reverse table in transport mode
// and validates it against an outstanding receipt: explicit proofs carry
// the packet hash and a signature, implicit proofs only the signature
// (PacketReceipt.validate_proof). Called with t.mu held.
func (t *Transport) handleProof(st *ifState, p *wire.Packet, lf localFlags, now time.Time, fx *effects) {
	if t.opts.Transport || lf.from || lf.proofFor {
		if re := t.reverse[p.DestinationHash]; re != nil {
			delete(t.reverse, p.DestinationHash)
			if re.out == st {
				if raw, err := p.MarshalMTU(re.rcvd.i.MTU()); err == nil {
					t.transmit(re.rcvd, raw)
					t.stats.Forwarded++
				}
			}
		}
	}
	r := t.receipts[p.DestinationHash]
	if r == nil {
		return
	}
	var sig []byte
	switch len(p.Data) {
	case explicitProofLen:
		if !bytes.Equal(p.Data[:wire.FullHashLen], r.hash[:]) {
			return
		}
		sig = p.Data[wire.FullHashLen:]
	case implicitProofLen:
		sig = p.Data
	default:
		return
	}
	if r.id == nil || !r.id.Verify(sig, r.hash[:]) {
		st.violations++
		t.drop(DropProofInvalid, "interface", st.i.Name())
		return
	}
	t.dropReceipt(r)
	r.conclude(ReceiptDelivered, now, fx)
}

// receiptJobs fails receipts whose timeout has passed. Called with t.mu held.
func (t *Transport) receiptJobs(now time.Time, fx *effects) {
	keep := t.receiptOrder[:0]
	for _, r := range t.receiptOrder {
		if now.Sub(r.sentAt) > r.timeout {
			delete(t.receipts, r.hash.Truncated())
			r.conclude(ReceiptFailed, now, fx)
			continue
		}
		keep = append(keep, r)
	}
	t.receiptOrder = keep
}
