package transport

import (
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Drop reasons counted by Drops. Each names one place where the transport
// discards a packet or a proof.
const (
	DropMalformed    = "malformed"           // inbound frame failed to parse or verify
	DropIFACApply    = "ifac_apply_failed"   // outbound frame could not be masked
	DropSendFailed   = "send_failed"         // the interface refused the frame (queue full, down)
	DropProofInvalid = "proof_bad_signature" // a proof for a pending receipt did not verify
)

// dropLogEvery is the minimum gap between two warn lines for one reason, so
// a flood of drops cannot flood the log; the counter still counts each one.
const dropLogEvery = 5 * time.Second

// DropCounter counts dropped packets per reason and logs each reason at
// warn at most once per dropLogEvery, so a flood of drops cannot flood the
// log while every drop is still counted. The zero value is ready; it has
// its own lock, so it may be used with other locks held. The link layer
// uses one too.
type DropCounter struct {
	mu     sync.Mutex
	counts map[string]uint64
	last   map[string]time.Time
	quiet  map[string]uint64 // drops not logged since the last warn line
}

// Drop counts one drop under reason and logs it at warn unless this reason
// was logged less than dropLogEvery before now.
func (d *DropCounter) Drop(log *slog.Logger, now time.Time, reason string, attrs ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counts == nil {
		d.counts, d.last, d.quiet = map[string]uint64{}, map[string]time.Time{}, map[string]uint64{}
	}
	d.counts[reason]++
	if last, ok := d.last[reason]; ok && now.Sub(last) < dropLogEvery {
		d.quiet[reason]++
		return
	}
	args := append([]any{slog.String("reason", reason), slog.Uint64("total", d.counts[reason]),
		slog.Uint64("suppressed", d.quiet[reason])}, attrs...)
	log.Warn("packet dropped", args...)
	d.last[reason] = now
	d.quiet[reason] = 0
}

// Counts returns a copy of the drop counts by reason.
func (d *DropCounter) Counts() map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.counts)
}

// drop counts one dropped packet under reason (see DropCounter).
func (t *Transport) drop(reason string, attrs ...any) {
	t.drops.Drop(t.log, t.clock.Now(), reason, attrs...)
}

// Drops returns how many packets and proofs the transport dropped, by
// reason (the Drop* constants). The map is a copy.
func (t *Transport) Drops() map[string]uint64 { return t.drops.Counts() }
