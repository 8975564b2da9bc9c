package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
)

// Options configure Open.
type Options struct {
	Path   string       // database file; created with its directory if missing
	Logger *slog.Logger // nil discards
	// MigrateTo stops migrating at this version (0 = all). Only tests use it.
	MigrateTo int
	// MaxPeers caps the peers table (default DefaultMaxPeers).
	MaxPeers int
	// SkipMigrate opens the database as it is, without applying migrations: for reading a copy of a
	// live database (snapshots) or one about to be replaced (restore). Writes may then fail.
	SkipMigrate bool
	// BeforeMigrate, when set, runs once before the first pending migration of a database that already
	// has a schema (from > 0), e.g. to snapshot it; an error stops Open and nothing is migrated.
	BeforeMigrate func(ctx context.Context, s *Store, from, to int) error
}

// Store is an open database with its schema up to date.
type Store struct {
	db       *gorm.DB
	log      *slog.Logger
	maxPeers int
}

// Open opens (creating if needed) the database at opts.Path and applies pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Path == "" {
		return nil, errors.New("open store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// SQLite gives its -wal and -shm files the mode of the database file, so the database must be 0600
	// before SQLite first opens it; whatever the umask, nothing it creates is then readable by others.
	if err := restrictFiles(opts.Path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// busy_timeout first so that the pragmas after it wait instead of failing on a locked file.
	dsn := "file:" + opts.Path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		Logger: logger.New(slogWriter{log}, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// One connection: SQLite has one writer anyway, and this keeps every statement's pragmas in force.
	sqlDB.SetMaxOpenConns(1)
	s := &Store{db: db, log: log, maxPeers: opts.MaxPeers}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !opts.SkipMigrate {
		if err := s.migrate(ctx, migrations(), opts.MigrateTo, opts.BeforeMigrate); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if err := restrictFiles(opts.Path); err != nil {
		log.Warn("could not restrict database file mode", "path", opts.Path, "err", err)
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
