package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// checkDiskLocked reads the data dir's free space (at most every diskCheckEvery unless force) and moves
// the low-disk state: it trips below MinFreeBytes and clears only once there is room for the watermark
// and the reserve again, so releasing the reserve never clears it by itself. When the file system is
// practically full (less free than the reserve) the reserve is released so that logins and sessions
// find room. It never writes the reserve (refillLocked does), so it is safe under a link lock.
func (b *budget) checkDiskLocked(now time.Time, force bool) {
	if b.dir == "" || b.opts.MinFreeBytes <= 0 {
		return
	}
	if !force && !b.checkedAt.IsZero() && now.Sub(b.checkedAt) < diskCheckEvery && !now.Before(b.checkedAt) {
		return
	}
	b.checkedAt = now
	free, err := b.opts.FreeSpace(b.dir)
	if err != nil {
		b.log.Debug("reading free space failed", "dir", b.dir, "error", err)
		return
	}
	b.free = free
	low := nonNeg(b.opts.MinFreeBytes)
	clear := low + nonNeg(b.opts.ReserveBytes-b.reserve)
	switch {
	case !b.low && free < low:
		b.low = true
		b.log.Warn("data dir below its free space watermark: refusing inbound messages and sends; logins and reads keep working",
			"free_bytes", free, "min_free_bytes", low)
	case b.low && free >= clear:
		b.low = false
		b.log.Info("data dir free space recovered: accepting inbound messages and sends again", "free_bytes", free)
	}
	if b.reserve > 0 && free < nonNeg(b.opts.ReserveBytes) {
		b.releaseLocked("file system nearly full")
	}
}

// storeFull is the store's SQLITE_FULL hook: release the reserve (so the caller's retry finds room)
// and treat the disk as low until the next check says otherwise.
func (b *budget) storeFull() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.low && b.opts.MinFreeBytes > 0 {
		b.low = true
		b.log.Warn("database or disk is full: refusing inbound messages and sends")
	}
	b.checkedAt = b.clock.Now()
	b.releaseLocked("database or disk full")
}

func (b *budget) reservePath() string { return filepath.Join(b.dir, ReserveFile) }

// releaseLocked deletes the reserve file.
func (b *budget) releaseLocked(why string) {
	if b.reserve <= 0 {
		return
	}
	if err := os.Remove(b.reservePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.log.Warn("releasing the storage reserve failed", "error", err)
		return
	}
	b.log.Warn("storage reserve released", "reason", why, "bytes", b.reserve)
	b.reserve = 0
}

// refillLocked (re)creates the reserve file when it is missing, the disk is not low and there is room
// for it above the watermark. It writes ReserveBytes of zeros (not a sparse file) and syncs, so the
// blocks are really taken.
func (b *budget) refillLocked() {
	if b.dir == "" || b.opts.ReserveBytes <= 0 || b.reserve > 0 || b.low {
		return
	}
	if fi, err := os.Lstat(b.reservePath()); err == nil && fi.Mode().IsRegular() && fi.Size() == b.opts.ReserveBytes {
		b.reserve = fi.Size()
		return
	}
	if b.free < nonNeg(b.opts.MinFreeBytes)+nonNeg(b.opts.ReserveBytes) {
		return
	}
	if err := writeReserve(b.reservePath(), b.opts.ReserveBytes); err != nil {
		b.log.Warn("creating the storage reserve failed", "error", err)
		_ = os.Remove(b.reservePath())
		return
	}
	b.reserve = b.opts.ReserveBytes
	b.free -= uint64(b.opts.ReserveBytes)
}

func writeReserve(path string, n int64) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("reserve %s: not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: the reserve's fixed name in the data dir
	if err != nil {
		return fmt.Errorf("reserve: %w", err)
	}
	zero := make([]byte, 64<<10)
	for left := n; left > 0; left -= int64(len(zero)) {
		if _, err := f.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			_ = f.Close()
			return fmt.Errorf("reserve: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("reserve: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reserve: %w", err)
	}
	return nil
}

// nonNeg is n as an unsigned byte count; a negative n (never configured, but not trusted) counts as 0.
func nonNeg(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}
