package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrStorageFull means SQLite answered SQLITE_FULL ("database or disk is full"): the file system holding
// the database has no room for the write. Reads keep working; pkg/web answers 507 storage_full.
var ErrStorageFull = errors.New("storage full")

// sqliteFull is SQLite's primary result code SQLITE_FULL.
const sqliteFull = 13

// isFull reports whether err is SQLite's SQLITE_FULL, by result code (the driver's error has Code()) or,
// for errors that lost their type on the way, by SQLite's fixed message.
func isFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrStorageFull) || isPGFull(err) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == sqliteFull {
		return true
	}
	return strings.Contains(err.Error(), "database or disk is full")
}

// OnFull registers fn to run (synchronously, on the goroutine of the failing statement) whenever a
// statement fails with SQLITE_FULL, so the owner of a space reserve can release it before the caller
// retries. Call it once, before the store is shared; fn must not use the store.
func (s *Store) OnFull(fn func()) error {
	if fn == nil {
		return nil
	}
	cb := func(db *gorm.DB) {
		if isFull(db.Error) {
			fn()
		}
	}
	c := s.db.Callback()
	for _, reg := range []func() error{
		func() error { return c.Create().After("*").Register("reticle:full_create", cb) },
		func() error { return c.Update().After("*").Register("reticle:full_update", cb) },
		func() error { return c.Delete().After("*").Register("reticle:full_delete", cb) },
		func() error { return c.Raw().After("*").Register("reticle:full_raw", cb) },
	} {
		if err := reg(); err != nil {
			return fmt.Errorf("register full hook: %w", err)
		}
	}
	return nil
}

// inboundBytesExpr is the stored bytes of a message row: its blob columns plus the attachment files it
// references (counted per reference, so a file two messages share is charged to both: conservative).
const inboundBytesExpr = `COALESCE(LENGTH(title), 0) + COALESCE(LENGTH(content), 0) + COALESCE(LENGTH(fields), 0) +
	COALESCE(LENGTH(packed), 0) + (SELECT COALESCE(SUM(a.size), 0) FROM attachments a WHERE a.message_row = messages.id)`

// InboundBytes is the sum of the stored bytes of every inbound message (title, content, fields and
// packed form as far as the schema keeps them). LENGTH of a blob reads no overflow pages, so this costs
// one pass over the rows, not over the bytes.
func (s *Store) InboundBytes(ctx context.Context) (int64, error) {
	expr := inboundBytesExpr
	var n int64
	q := "SELECT COALESCE(SUM(" + expr + "), 0) FROM messages WHERE direction = ?"
	if err := s.db.WithContext(ctx).Raw(q, DirectionIn).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("inbound bytes: %w", translate(err))
	}
	return n, nil
}

// InboundUse is one stored inbound message's peer, arrival time and stored bytes.
type InboundUse struct {
	Peer      string
	CreatedAt time.Time
	Bytes     int64
}

// InboundSince returns the inbound messages stored at or after since, newest first, at most limit
// (<= 0: 100000), to rebuild per-peer byte windows at start.
func (s *Store) InboundSince(ctx context.Context, since time.Time, limit int) ([]InboundUse, error) {
	if limit <= 0 {
		limit = 100000
	}
	expr := inboundBytesExpr
	var out []InboundUse
	q := "SELECT peer, created_at, " + expr + " AS bytes FROM messages WHERE direction = ? AND created_at >= ? ORDER BY id DESC LIMIT ?"
	if err := s.db.WithContext(ctx).Raw(q, DirectionIn, since.UTC(), limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("inbound since: %w", translate(err))
	}
	return out, nil
}
