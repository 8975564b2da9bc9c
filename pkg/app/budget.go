package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// ErrStorageFull means the data dir's file system is below the low-disk watermark or SQLite found it
// full: nothing new is stored until space frees. It is store.ErrStorageFull, so store errors match it
// too; pkg/web answers 507 storage_full.
var ErrStorageFull = store.ErrStorageFull

// Budget defaults (the flags in pkg/config carry the same numbers).
const (
	// DefaultInboundBudgetCap is the largest default total inbound budget (1 GiB); the default is
	// this or a tenth of the data dir's free space at start, whichever is smaller.
	DefaultInboundBudgetCap = 1 << 30
	// DefaultReserveBytes is the size of the space reserve file kept in the data dir.
	DefaultReserveBytes = 2 << 20
)

// ReserveFile is the space reserve's name below the data dir: preallocated while space is plentiful,
// deleted when the disk is (nearly) full so that logins and sessions still find room.
const ReserveFile = "storage.reserve"

// budget tuning.
const (
	remeasureEvery  = 30 * time.Second // how stale the in-memory total may get before the store is asked
	diskCheckEvery  = 2 * time.Second  // statfs at most this often
	warnEvery       = 10 * time.Second // one refusal warn line per reason per this long
	maxTrackedPeers = 8192             // per-peer windows held in memory
	rebuildLimit    = 100000           // stored rows read to rebuild the windows at start
)

// BudgetOptions bound what peers can make the store hold. Zero values switch a limit off.
type BudgetOptions struct {
	// TotalBytes caps the stored bytes of all inbound messages together.
	TotalBytes int64
	// PeerHourBytes and PeerDayBytes cap the bytes one non-contact peer may have had stored in the
	// last hour and the last 24 hours.
	PeerHourBytes, PeerDayBytes int64
	// MinFreeBytes is the low-disk watermark: while the data dir's file system has less free space,
	// inbound messages and sends are refused (reads, logins and sessions keep working).
	MinFreeBytes int64
	// ReserveBytes sizes the reserve file (default DefaultReserveBytes; negative: none). It is kept
	// only while MinFreeBytes is set.
	ReserveBytes int64
	// IsContact exempts a peer from the per-peer budgets (nil: nobody is a contact).
	IsContact func(peer wire.Hash) bool
	// FreeSpace reports the free bytes of dir's file system (default statfs).
	FreeSpace func(dir string) (uint64, error)
}

// Refusals counts what the budget refused since start.
type Refusals struct {
	TotalBudget    uint64 `json:"total_budget"`
	PeerHour       uint64 `json:"peer_hour"`
	PeerDay        uint64 `json:"peer_day"`
	LowDisk        uint64 `json:"low_disk"`
	Advertisements uint64 `json:"advertisements"`
	Sends          uint64 `json:"sends"`
}

// StorageInfo is the storage state the owner sees (GET /api/v1/storage) and /readyz reports.
type StorageInfo struct {
	// Status is "ok" or "degraded" (below the low-disk watermark).
	Status string `json:"status"`
	// InboundBytes is the stored bytes of inbound messages.
	InboundBytes int64 `json:"inbound_bytes"`
	// InboundBudgetBytes is the total inbound budget (0: none).
	InboundBudgetBytes int64 `json:"inbound_budget_bytes"`
	// PeerHourBudgetBytes and PeerDayBudgetBytes are the per-peer budgets of non-contacts (0: none).
	PeerHourBudgetBytes int64 `json:"peer_hour_budget_bytes"`
	PeerDayBudgetBytes  int64 `json:"peer_day_budget_bytes"`
	// FreeBytes is the data dir file system's free space at the last check (0 when not watched).
	FreeBytes uint64 `json:"free_bytes"`
	// MinFreeBytes is the low-disk watermark (0: off).
	MinFreeBytes int64 `json:"min_free_bytes"`
	// ReserveBytes is the size of the reserve file held now (0 once released).
	ReserveBytes int64 `json:"reserve_bytes"`
	// Refused counts refusals by reason since start.
	Refused Refusals `json:"refused"`
}

// slot is the bytes stored in one minute or hour (start in Unix minutes or hours).
type slot struct{ start, bytes int64 }

// peerUse is one peer's recent stored bytes: one-minute slots for the hour, one-hour slots for the day.
// Both are bounded (60 and 25 slots), so a peer costs at most about 1.4 KiB.
type peerUse struct {
	minutes, hours []slot
	last           time.Time
}

func addSlot(s []slot, start, n int64) []slot {
	if k := len(s); k > 0 && s[k-1].start >= start {
		s[k-1].bytes += n // same slot (or a clock step back: charge the newest)
		return s
	}
	return append(s, slot{start, n})
}

func trimSlots(s []slot, from int64) []slot {
	i := 0
	for i < len(s) && s[i].start < from {
		i++
	}
	return append(s[:0], s[i:]...)
}

func sumSlots(s []slot) (n int64) {
	for _, x := range s {
		n += x.bytes
	}
	return n
}

func (p *peerUse) add(at time.Time, n int64) {
	p.minutes = addSlot(p.minutes, at.Unix()/60, n)
	p.hours = addSlot(p.hours, at.Unix()/3600, n)
	if at.After(p.last) {
		p.last = at
	}
}

// use trims slots out of the windows and returns the last hour's and the last day's bytes. The day
// window is the current hour and the 24 before it, so it errs towards refusing.
func (p *peerUse) use(now time.Time) (hour, day int64) {
	p.minutes = trimSlots(p.minutes, now.Unix()/60-59)
	p.hours = trimSlots(p.hours, now.Unix()/3600-24)
	return sumSlots(p.minutes), sumSlots(p.hours)
}

// budget enforces BudgetOptions for one App.
type budget struct {
	opts  BudgetOptions
	dir   string // data dir; empty: no watermark, no reserve
	st    *store.Store
	log   *slog.Logger
	clock router.Clock

	mu         sync.Mutex
	used       int64 // inbound bytes: measured at measuredAt plus what was admitted since
	measuredAt time.Time
	peers      map[wire.Hash]*peerUse
	free       uint64
	checkedAt  time.Time
	low        bool
	reserve    int64 // reserve file bytes held now
	refused    Refusals
	warnedAt   map[string]time.Time
	suppressed map[string]int
}

func newBudget(opts BudgetOptions, dir string, st *store.Store, log *slog.Logger, clock router.Clock) *budget {
	if opts.ReserveBytes == 0 {
		opts.ReserveBytes = DefaultReserveBytes
	}
	if opts.ReserveBytes < 0 || opts.MinFreeBytes <= 0 {
		opts.ReserveBytes = 0
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = freeSpace
	}
	return &budget{opts: opts, dir: dir, st: st, log: log, clock: clock,
		peers: map[wire.Hash]*peerUse{}, warnedAt: map[string]time.Time{}, suppressed: map[string]int{}}
}

// start measures the stored inbound bytes, rebuilds the per-peer windows of the last day from the
// store and sets up the reserve file.
func (b *budget) start(ctx context.Context) error {
	now := b.clock.Now()
	used, err := b.st.InboundBytes(ctx)
	if err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	rows, err := b.st.InboundSince(ctx, now.Add(-25*time.Hour), rebuildLimit)
	if err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	if err := b.st.OnFull(b.storeFull); err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used, b.measuredAt = used, now
	for i := len(rows) - 1; i >= 0; i-- { // oldest first, as they arrived
		if h, err := wire.ParseHash(rows[i].Peer); err == nil {
			b.peerLocked(h, now).add(rows[i].CreatedAt, rows[i].Bytes)
		}
	}
	b.checkDiskLocked(now, true)
	b.refillLocked()
	return nil
}

// peerLocked returns the window of peer h, making room when maxTrackedPeers are held: idle windows
// go first, then the least recently used one.
func (b *budget) peerLocked(h wire.Hash, now time.Time) *peerUse {
	if p := b.peers[h]; p != nil {
		return p
	}
	if len(b.peers) >= maxTrackedPeers {
		var oldest wire.Hash
		var ot time.Time
		first := true
		for k, p := range b.peers {
			if hr, day := p.use(now); hr == 0 && day == 0 {
				delete(b.peers, k)
				continue
			}
			if first || p.last.Before(ot) {
				oldest, ot, first = k, p.last, false
			}
		}
		if len(b.peers) >= maxTrackedPeers && !first {
			delete(b.peers, oldest)
		}
	}
	p := &peerUse{}
	b.peers[h] = p
	return p
}

// inboundSize is what storing in costs: the columns the messages table keeps today (title, content,
// fields and the packed form).
func inboundSize(in router.Inbound) int64 {
	m := in.Message
	n := int64(len(m.Title) + len(m.Content) + len(m.Packed))
	if len(m.Fields) > 0 {
		n += int64(len(m.Fields.Value().Encode()))
	}
	return n
}

// admitInbound decides, before the Sink stores an inbound message, whether the budget has room for it,
// and charges it when so. A refusal wraps router.ErrDeferred (the message is not proven, its sender
// retries later) and ErrStorageFull. A message already stored is admitted without charge: storing it
// again is a no-op.
func (b *budget) admitInbound(ctx context.Context, in router.Inbound) error {
	m := in.Message
	if _, err := b.st.GetMessage(ctx, m.ID.String(), store.DirectionIn); err == nil {
		return nil
	}
	now := b.clock.Now()
	b.remeasure(ctx, now)
	size := inboundSize(in)
	contact := b.opts.IsContact != nil && b.opts.IsContact(m.Source)
	b.mu.Lock()
	reason := ""
	var p *peerUse
	b.checkDiskLocked(now, false)
	b.refillLocked()
	switch {
	case b.low:
		reason, b.refused.LowDisk = "low_disk", b.refused.LowDisk+1
	case b.opts.TotalBytes > 0 && b.used+size > b.opts.TotalBytes:
		reason, b.refused.TotalBudget = "total_budget", b.refused.TotalBudget+1
	}
	if reason == "" && !contact {
		p = b.peerLocked(m.Source, now)
		hour, day := p.use(now)
		switch {
		case b.opts.PeerHourBytes > 0 && hour+size > b.opts.PeerHourBytes:
			reason, b.refused.PeerHour = "peer_hour_budget", b.refused.PeerHour+1
		case b.opts.PeerDayBytes > 0 && day+size > b.opts.PeerDayBytes:
			reason, b.refused.PeerDay = "peer_day_budget", b.refused.PeerDay+1
		}
	}
	if reason != "" {
		b.warnLocked(now, reason, "inbound lxmf message refused by the storage budget; not proving it, the sender retries later",
			"peer", m.Source.String(), "reason", reason, "size", size)
		b.mu.Unlock()
		return fmt.Errorf("%w: %w: %s", router.ErrDeferred, ErrStorageFull, reason)
	}
	b.used += size
	if p != nil {
		p.add(now, size)
	}
	b.mu.Unlock()
	return nil
}

// admitResource decides at a direct-delivery resource advertisement whether size bytes could fit, so
// an over-budget message is refused before it is transferred. It runs with a link locked: memory and
// at most one statfs, no store access.
func (b *budget) admitResource(size int64) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checkDiskLocked(now, false)
	reason := ""
	switch {
	case b.low:
		reason = "low_disk"
	case b.opts.TotalBytes > 0 && b.used+size > b.opts.TotalBytes:
		reason = "total_budget"
	default:
		return true
	}
	b.refused.Advertisements++
	b.warnLocked(now, "advertisement_"+reason, "inbound lxmf resource refused at its advertisement by the storage budget",
		"reason", reason, "size", size)
	return false
}

// admitSend refuses a send while the disk is below the watermark.
func (b *budget) admitSend() error {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.checkDiskLocked(now, false); !b.low {
		return nil
	}
	b.refused.Sends++
	b.warnLocked(now, "send_low_disk", "send refused: the data dir is below its free space watermark", "free_bytes", b.free)
	return fmt.Errorf("send: %w: free space below the watermark", ErrStorageFull)
}

// remeasure asks the store for the stored inbound bytes when the in-memory sum is stale, so deletes
// give room back and failed inserts stop counting.
func (b *budget) remeasure(ctx context.Context, now time.Time) {
	b.mu.Lock()
	stale := b.opts.TotalBytes > 0 && now.Sub(b.measuredAt) >= remeasureEvery
	b.mu.Unlock()
	if !stale {
		return
	}
	used, err := b.st.InboundBytes(ctx)
	if err != nil {
		b.log.Debug("measuring inbound bytes failed", "error", err)
		return
	}
	b.mu.Lock()
	b.used, b.measuredAt = used, now
	b.mu.Unlock()
}

// warnLocked logs one warn line per key per warnEvery, with the count of lines it held back.
func (b *budget) warnLocked(now time.Time, key, msg string, args ...any) {
	if t, ok := b.warnedAt[key]; ok && now.Sub(t) < warnEvery {
		b.suppressed[key]++
		return
	}
	b.warnedAt[key] = now
	if n := b.suppressed[key]; n > 0 {
		args = append(args, "suppressed", n)
	}
	b.suppressed[key] = 0
	b.log.Warn(msg, args...)
}

// info reports the storage state, checking the disk if the last check is stale.
func (b *budget) info(ctx context.Context) StorageInfo {
	now := b.clock.Now()
	b.remeasure(ctx, now)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checkDiskLocked(now, false)
	b.refillLocked()
	status := "ok"
	if b.low {
		status = "degraded"
	}
	return StorageInfo{
		Status: status, InboundBytes: b.used, InboundBudgetBytes: b.opts.TotalBytes,
		PeerHourBudgetBytes: b.opts.PeerHourBytes, PeerDayBudgetBytes: b.opts.PeerDayBytes,
		FreeBytes: b.free, MinFreeBytes: b.opts.MinFreeBytes, ReserveBytes: b.reserve, Refused: b.refused,
	}
}

// DefaultInboundBudget is the default total inbound budget for a data dir: DefaultInboundBudgetCap
// or a tenth of its file system's free space now, whichever is smaller (the cap when free space
// cannot be read).
func DefaultInboundBudget(dir string) int64 {
	free, err := freeSpace(dir)
	if err != nil || free/10 >= DefaultInboundBudgetCap {
		return DefaultInboundBudgetCap
	}
	return max(int64(free/10), 1<<20)
}
