package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"time"
)

// ErrSnapshotUnsupported means VacuumInto was asked of a PostgreSQL store, which is copied with Dump
// (pg_dump) instead.
var ErrSnapshotUnsupported = errors.New("VACUUM INTO copies SQLite only: a PostgreSQL store is copied with pg_dump (Store.Dump)")

// VacuumInto writes a consistent copy of the whole database to path (which must not exist yet) with
// SQLite's VACUUM INTO: it reads inside one transaction, so concurrent writers neither block it for long
// nor tear it, and the copy never depends on the live WAL file. On PostgreSQL it returns
// ErrSnapshotUnsupported.
func (s *Store) VacuumInto(ctx context.Context, path string) error {
	if s.pg {
		return ErrSnapshotUnsupported
	}
	if path == "" {
		return errors.New("vacuum into: empty path")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("vacuum into %s: file exists", path)
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("vacuum into: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("vacuum into: %w", err)
	}
	return nil
}

// TableDigest is the row count of one table and a SHA-256 over every row in rowid order.
type TableDigest struct {
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// Digest returns a TableDigest for every table, so two databases can be compared row for row (a
// restore check) without knowing their schema. On PostgreSQL the rows are hashed in the order the
// server returns them (heap order), which a pg_dump and pg_restore round trip keeps.
func (s *Store) Digest(ctx context.Context) (map[string]TableDigest, error) {
	var names []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if s.pg {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	err := s.db.WithContext(ctx).Raw(q).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	sort.Strings(names)
	out := make(map[string]TableDigest, len(names))
	for _, n := range names {
		d, err := s.digestTable(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("digest %s: %w", n, err)
		}
		out[n] = d
	}
	return out, nil
}

func (s *Store) digestTable(ctx context.Context, table string) (TableDigest, error) {
	// table comes from sqlite_master, never from a caller; quoting keeps any name a single identifier.
	q := `SELECT * FROM "` + escapeIdent(table) + `"`
	rows, err := s.db.WithContext(ctx).Raw(q).Rows()
	if err != nil {
		return TableDigest{}, err
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		return TableDigest{}, err
	}
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var buf [8]byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableDigest{}, err
		}
		n++
		for _, v := range vals {
			switch x := v.(type) {
			case nil:
				h.Write([]byte{0})
			case int64:
				h.Write([]byte{1})
				binary.BigEndian.PutUint64(buf[:], uint64(x)) //nolint:gosec // G115: bit pattern only
				h.Write(buf[:])
			case float64:
				h.Write([]byte{2})
				binary.BigEndian.PutUint64(buf[:], math.Float64bits(x))
				h.Write(buf[:])
			case bool:
				h.Write([]byte{3})
				if x {
					h.Write([]byte{1})
				} else {
					h.Write([]byte{0})
				}
			case []byte:
				writeLenPrefixed(h, 4, x)
			case string:
				writeLenPrefixed(h, 4, []byte(x))
			case time.Time:
				writeLenPrefixed(h, 5, []byte(x.UTC().Format(time.RFC3339Nano)))
			default:
				writeLenPrefixed(h, 6, fmt.Appendf(nil, "%v", x))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return TableDigest{}, err
	}
	return TableDigest{Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeLenPrefixed(h interface{ Write([]byte) (int, error) }, tag byte, b []byte) {
	var hdr [9]byte
	hdr[0] = tag
	binary.BigEndian.PutUint64(hdr[1:], uint64(len(b)))
	_, _ = h.Write(hdr[:])
	_, _ = h.Write(b)
}

func escapeIdent(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// MessageCount returns the number of stored messages (both directions).
func (s *Store) MessageCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Message{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count messages: %w", translate(err))
	}
	return n, nil
}
