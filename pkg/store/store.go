package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Sentinel errors returned by the store.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint was violated.
	ErrConflict = errors.New("already exists")
	// ErrSchemaTooNew means the database was written by a newer Reticle than this one.
	ErrSchemaTooNew = errors.New("database schema is newer than this reticle")
	// ErrLocked means another Reticle holds this PostgreSQL database (its single-writer lock).
	ErrLocked = errors.New("database is in use by another reticle")
)

// Options configure Open.
type Options struct {
	Path string // SQLite database file; created with its directory if missing (unused with Database)
	// Database, when set, is a PostgreSQL connection URL (postgres://user:pass@host/db?sslmode=...) and
	// the store lives there instead of in the SQLite file at Path. See IsPostgres and MaskDSN.
	Database string
	// MaxConns bounds the PostgreSQL connection pool (default: the URL's pool_max_conns, else
	// DefaultMaxConns; one more connection holds the single-writer lock). SQLite uses one connection.
	MaxConns int
	Logger   *slog.Logger // nil discards
	// MigrateTo stops migrating at this version (0 = all). Only tests use it.
	MigrateTo int
	// MaxPeers caps the peers table (default DefaultMaxPeers).
	MaxPeers int
	// SkipMigrate opens the database as it is, without applying migrations: for reading a copy of a
	// live database (snapshots) or one about to be replaced (restore). Writes may then fail. On
	// PostgreSQL such an open does not take the single-writer lock.
	SkipMigrate bool
	// BeforeMigrate, when set, runs once before the first pending migration of a database that already
	// has a schema (from > 0), e.g. to snapshot it; an error stops Open and nothing is migrated.
	BeforeMigrate func(ctx context.Context, s *Store, from, to int) error
	// LockCheck is how often a PostgreSQL store checks that it still holds the single-writer lock
	// (default DefaultLockCheck). A lost lock (the server restarted, the connection dropped) is taken
	// again; when another instance took it meanwhile, the store closes its database, so every later
	// call fails instead of writing beside the other instance.
	LockCheck time.Duration
}

// Store is an open database with its schema up to date.
type Store struct {
	db       *gorm.DB
	log      *slog.Logger
	maxPeers int
	pg       bool      // PostgreSQL, not SQLite
	lock     *sql.Conn // PostgreSQL: the connection holding the single-writer advisory lock
	dsn      string    // PostgreSQL: the connection URL (never logged; see MaskDSN)
	prop     propTotal // bytes held as a propagation node

	lockMu   sync.Mutex // guards lock against the watchdog
	stopLock chan struct{}
	lockDone chan struct{}
}

// Open opens (creating if needed) the database (SQLite at opts.Path, or PostgreSQL at opts.Database)
// and applies pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		s   *Store
		err error
	)
	if opts.Database != "" {
		s, err = openPostgres(ctx, opts, log)
	} else {
		s, err = openSQLite(ctx, opts, log)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !opts.SkipMigrate {
		if err := s.migrate(ctx, migrations(), opts.MigrateTo, opts.BeforeMigrate); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if !s.pg {
		if err := restrictFiles(opts.Path); err != nil {
			log.Warn("could not restrict database file mode", "path", opts.Path, "err", err)
		}
	}
	return s, nil
}

// gormConfig is the configuration both dialects share: error translation, no implicit transactions,
// UTC times, and a slog logger with parameterised queries so values never reach the log.
func gormConfig(log *slog.Logger) *gorm.Config {
	return &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger: logger.New(slogWriter{log}, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
	}
}

func openSQLite(ctx context.Context, opts Options, log *slog.Logger) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("empty path")
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, err
	}
	// SQLite gives its -wal and -shm files the mode of the database file, so the database must be 0600
	// before SQLite first opens it; whatever the umask, nothing it creates is then readable by others.
	if err := restrictFiles(opts.Path); err != nil {
		return nil, err
	}
	// busy_timeout first so that the pragmas after it wait instead of failing on a locked file.
	dsn := "file:" + opts.Path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := gorm.Open(sqlite.Open(dsn), gormConfig(log))
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and this keeps every statement's pragmas in force.
	sqlDB.SetMaxOpenConns(1)
	s := &Store{db: db, log: log, maxPeers: opts.MaxPeers}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// restrictFiles creates the database file 0600 if it is missing and sets it, and any -wal and -shm
// beside it, to 0600.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // G304: the database path from the configuration
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Checkpoint folds the WAL into the main database file, so its bytes are final (used before hashing the
// file at shutdown and before snapshots).
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.pg {
		return nil // not applicable: PostgreSQL has no database file in the data dir to hash or copy
	}
	if err := s.db.WithContext(ctx).Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if err := s.Checkpoint(context.Background()); err != nil {
		s.log.Warn("checkpoint at close failed", "err", err)
	}
	s.unlock()
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// translate maps GORM errors onto the store's sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case isFull(err) && !errors.Is(err, ErrStorageFull):
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return err
}

// slogWriter adapts GORM's printf logger to slog. Queries are parameterised, so values never reach it.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Printf(format string, args ...any) {
	w.l.Warn("store", "msg", fmt.Sprintf(format, args...))
}
