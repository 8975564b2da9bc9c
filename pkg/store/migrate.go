package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one forward-only schema step. Version numbers start at 1 and have no gaps.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

// schemaMigration records an applied migration.
type schemaMigration struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"not null"`
	AppliedAt time.Time `gorm:"not null"`
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the version this binary migrates to.
func LatestSchemaVersion() int { return len(migrations()) }

// migrate applies every pending migration of ms up to target (0 = all), each in its own transaction;
// before, when a schema exists and something is pending, it calls before (if set).
func (s *Store) migrate(ctx context.Context, ms []migration, target int, before func(context.Context, *Store, int, int) error) error {
	for i, m := range ms {
		if m.version != i+1 {
			return fmt.Errorf("migration list is broken at %q: version %d, want %d", m.name, m.version, i+1)
		}
	}
	if target == 0 || target > len(ms) {
		target = len(ms)
	}
	db := s.db.WithContext(ctx)
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at DATETIME NOT NULL)`).Error; err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("%w: database is at version %d, this binary knows %d", ErrSchemaTooNew, current, len(ms))
	}
	if before != nil && current > 0 && current < target {
		if err := before(ctx, s, current, target); err != nil {
			return fmt.Errorf("before migrating %d -> %d: %w", current, target, err)
		}
	}
	for _, m := range ms[current:target] {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := m.up(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("migration %04d %s: %w", m.version, m.name, err)
		}
		s.log.Info("applied migration", "version", m.version, "name", m.name)
	}
	return nil
}

// execAll runs DDL statements in order.
func execAll(tx *gorm.DB, stmts ...string) error {
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
