package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// DefaultMaxConns is the PostgreSQL pool size when Options.MaxConns is 0.
const DefaultMaxConns = 8

// lockClass is the first key of the single-writer advisory lock ("RTCL"); the second is a hash of the
// database and schema, so two stores in different schemas of one database do not exclude each other.
const lockClass = 0x5254434c

// IsPostgres reports whether dsn names a PostgreSQL database (a postgres:// or postgresql:// URL).
func IsPostgres(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// MaskDSN returns dsn safe to show: the password and any password-like query parameter are dropped,
// so "postgres://user:secret@host/db" becomes "postgres://user@host/db". Anything that does not parse
// as a URL is shown as "(unparseable database URL)".
func MaskDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(unparseable database URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") || strings.EqualFold(k, "sslkey") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// maxPoolParam bounds pool_max_conns.
const maxPoolParam = 100

// poolParam takes the optional pool_max_conns parameter (the name pgx's own pool uses) out of the URL:
// the pool size for queries, 1 to 100 (0 when absent). Every other parameter goes to pgx.
func poolParam(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, errors.New("URL does not parse")
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return dsn, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPoolParam {
		return "", 0, fmt.Errorf("pool_max_conns %q must be between 1 and %d", v, maxPoolParam)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// openPostgres connects to opts.Database, sizes the pool and takes the single-writer lock.
func openPostgres(ctx context.Context, opts Options, log *slog.Logger) (*Store, error) {
	if !IsPostgres(opts.Database) {
		return nil, fmt.Errorf("database %s: only postgres:// URLs are supported", MaskDSN(opts.Database))
	}
	dsn, poolMax, err := poolParam(opts.Database)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", MaskDSN(opts.Database), err)
	}
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors already blank the password; the URL shown is masked too.
		return nil, fmt.Errorf("database %s: %w", MaskDSN(opts.Database), err)
	}
	// Times come back in UTC, as SQLite gives them, whatever the server's or this host's time zone.
	sqlDB := stdlib.OpenDB(*pc, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig(log))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect %s: %w", MaskDSN(opts.Database), err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = poolMax
	}
	if n <= 0 {
		n = DefaultMaxConns
	}
	// A bounded pool: n for queries plus the one that holds the lock; idle connections are closed after
	// a while so a quiet node does not pin server slots.
	sqlDB.SetMaxOpenConns(n + 1)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, log: log, maxPeers: opts.MaxPeers, pg: true, dsn: opts.Database}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect %s: %w", MaskDSN(opts.Database), err)
	}
	// A SkipMigrate open only reads (a backup beside the running node), so it takes no lock.
	if !opts.SkipMigrate {
		if err := s.takeLock(ctx, sqlDB); err != nil {
			_ = sqlDB.Close()
			return nil, err
		}
		every := opts.LockCheck
		if every <= 0 {
			every = DefaultLockCheck
		}
		s.stopLock, s.lockDone = make(chan struct{}), make(chan struct{})
		go s.watchLock(sqlDB, every) //nolint:gosec // G118: the watchdog lives as long as the store, not the Open call
	}
	return s, nil
}

// DefaultLockCheck is how often a PostgreSQL store checks its single-writer lock.
const DefaultLockCheck = 15 * time.Second

// watchLock checks every interval that the lock's connection is alive. A dead one is replaced by a new
// lock; if another instance holds the lock by then, the database is closed: from then on this store
// only returns errors, and the log says why.
func (s *Store) watchLock(sqlDB *sql.DB, every time.Duration) {
	defer close(s.lockDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopLock:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.lockMu.Lock()
		err := s.lock.PingContext(ctx)
		if err == nil {
			s.lockMu.Unlock()
			cancel()
			continue
		}
		s.log.Warn("database lock connection lost; taking the lock again", "err", err)
		_ = s.lock.Close()
		err = s.takeLock(ctx, sqlDB)
		s.lockMu.Unlock()
		cancel()
		switch {
		case err == nil:
			s.log.Info("database lock taken again")
		case errors.Is(err, ErrLocked):
			s.log.Error("another reticle took the database lock; this node stops using the database", "database", MaskDSN(s.dsn))
			s.lockMu.Lock()
			s.lock = nil
			s.lockMu.Unlock()
			_ = sqlDB.Close()
			return
		default:
			s.log.Warn("database lock not taken again; retrying", "err", err) // the server may still be restarting
		}
	}
}

// takeLock holds a session advisory lock on a connection of its own for the life of the store, so a
// second Reticle against the same database and schema refuses to start instead of sharing the store.
func (s *Store) takeLock(ctx context.Context, sqlDB *sql.DB) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock database: %w", err)
	}
	var got bool
	err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1,
		hashtext(current_database() || '.' || COALESCE(current_schema(), '')))`, lockClass).Scan(&got)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("lock database: %w", err)
	}
	if !got {
		_ = conn.Close()
		return fmt.Errorf("%w: another reticle holds the lock on %s; stop it, or give this instance its own database",
			ErrLocked, MaskDSN(s.dsn))
	}
	s.lock = conn
	return nil
}

// unlock releases the single-writer lock (closing its connection would release it too).
func (s *Store) unlock() {
	if s.stopLock != nil {
		close(s.stopLock)
		<-s.lockDone
		s.stopLock = nil
	}
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if s.lock == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.lock.ExecContext(ctx, `SELECT pg_advisory_unlock($1,
		hashtext(current_database() || '.' || COALESCE(current_schema(), '')))`, lockClass); err != nil {
		s.log.Warn("release database lock", "err", err)
	}
	_ = s.lock.Close()
	s.lock = nil
}

// Postgres reports whether the store lives in PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// isPostgres reports whether a migration runs on PostgreSQL.
func isPostgres(tx *gorm.DB) bool { return tx.Name() == "postgres" }

// likeOp is a case-insensitive LIKE: SQLite's LIKE already ignores ASCII case, PostgreSQL's does not.
func (s *Store) likeOp() string {
	if s.pg {
		return "ILIKE"
	}
	return "LIKE"
}

// blobText is a blob column read as text for searching. PostgreSQL's reticle_text (migration 4) decodes
// UTF-8 and falls back to the escaped bytes for anything else, so a hostile message cannot break search.
func (s *Store) blobText(col string) string {
	if s.pg {
		return "reticle_text(" + col + ")"
	}
	return "CAST(" + col + " AS TEXT)"
}

// greatest is the two-argument maximum: SQLite's scalar MAX, PostgreSQL's GREATEST.
func (s *Store) greatest() string {
	if s.pg {
		return "GREATEST"
	}
	return "MAX"
}

// textBytes is the length in bytes of a text column.
func (s *Store) textBytes(col string) string {
	if s.pg {
		return "octet_length(" + col + ")"
	}
	return "LENGTH(CAST(" + col + " AS BLOB))"
}

// pgDiskFull is PostgreSQL's SQLSTATE disk_full (class 53, insufficient resources).
const pgDiskFull = "53100"

// isPGFull reports whether err carries PostgreSQL's disk_full SQLSTATE.
func isPGFull(err error) bool {
	var coded interface{ SQLState() string }
	return errors.As(err, &coded) && coded.SQLState() == pgDiskFull
}
