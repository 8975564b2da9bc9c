package transport

import (
	"log/slog"
	"maps"
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

// dropLog is the per-reason drop counter and warn rate limiter. It is
// guarded by Transport.mu.
type dropLog struct {
	counts map[string]uint64
	last   map[string]time.Time
	quiet  map[string]uint64 // drops not logged since the last warn line
}

// drop counts one dropped packet under reason and logs at warn, at most
// once per dropLogEvery per reason. Call with t.mu held.
func (t *Transport) drop(reason string, attrs ...any) {
	d := &t.drops
	if d.counts == nil {
		d.counts, d.last, d.quiet = map[string]uint64{}, map[string]time.Time{}, map[string]uint64{}
	}
	d.counts[reason]++
	now := t.clock.Now()
	if last, ok := d.last[reason]; ok && now.Sub(last) < dropLogEvery {
		d.quiet[reason]++
		return
	}
	args := append([]any{slog.String("reason", reason), slog.Uint64("total", d.counts[reason]),
		slog.Uint64("suppressed", d.quiet[reason])}, attrs...)
	t.log.Warn("packet dropped", args...)
	d.last[reason] = now
	d.quiet[reason] = 0
}

// Drops returns how many packets and proofs the transport dropped, by
// reason (the Drop* constants). The map is a copy.
func (t *Transport) Drops() map[string]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.drops.counts)
}
