package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// openTemp opens a fresh store migrated to version to (0 = all): SQLite in a temp dir, or a fresh
// PostgreSQL schema when RETICLE_TEST_DATABASE is set. p names it for reopening (see testkit.Database).
func openTemp(t *testing.T, to int) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data", "reticle.db")
	s, err := Open(context.Background(), Options{Path: p, Database: testkit.Database(t, p), MigrateTo: to})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// openTempSQLite opens a fresh SQLite store whatever RETICLE_TEST_DATABASE says, for tests of behaviour
// only SQLite has (pragmas, file modes, VACUUM INTO).
func openTempSQLite(t *testing.T) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data", "reticle.db")
	s, err := Open(context.Background(), Options{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// closeStore closes s and fails the test if closing (checkpoint included) fails.
func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

func TestOpenAppliesPragmasAndMigrations(t *testing.T) {
	s, p := openTempSQLite(t)
	defer closeStore(t, s)
	ctx := context.Background()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != LatestSchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, LatestSchemaVersion())
	}
	var mode string
	s.db.Raw("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk, busy int
	s.db.Raw("PRAGMA foreign_keys").Scan(&fk)
	s.db.Raw("PRAGMA busy_timeout").Scan(&busy)
	if fk != 1 || busy != 5000 {
		t.Errorf("foreign_keys=%d busy_timeout=%d", fk, busy)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("db mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestUpgradeFromPreviousSchema builds a database at migration N-1, writes data, upgrades it with this
// binary, and checks that the data survived and the new schema is usable.
func TestUpgradeFromPreviousSchema(t *testing.T) {
	ctx := context.Background()
	latest := LatestSchemaVersion()
	if latest < 2 {
		t.Skip("needs at least two migrations")
	}
	old, p := openTemp(t, latest-1)
	if v, _ := old.SchemaVersion(ctx); v != latest-1 {
		t.Fatalf("old schema at %d, want %d", v, latest-1)
	}
	if err := old.SetSetting(ctx, "instance_name", "survivor"); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	if v, _ := s.SchemaVersion(ctx); v != latest {
		t.Fatalf("upgraded schema at %d, want %d", v, latest)
	}
	got, err := s.GetSetting(ctx, "instance_name")
	if err != nil || got != "survivor" {
		t.Fatalf("setting after upgrade = %q, %v", got, err)
	}
	// Reopening is a no-op.
	if err := s.migrate(ctx, migrations(), 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, p := openTemp(t, 0)
	if err := s.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', CURRENT_TIMESTAMP)", LatestSchemaVersion()+1).Error; err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	_, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
}

func TestSettingsAndInterfaces(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	if _, err := s.GetSetting(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	for _, v := range []string{"a", "b"} {
		if err := s.SetSetting(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := s.GetSetting(ctx, "k"); v != "b" {
		t.Fatalf("setting = %q, want b", v)
	}
	in := &Interface{Name: "hub", URI: "tcp-client://127.0.0.1:4242", Enabled: true}
	if err := s.CreateInterface(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInterface(ctx, &Interface{Name: "hub", URI: "x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate name: want ErrConflict, got %v", err)
	}
	list, err := s.ListInterfaces(ctx)
	if err != nil || len(list) != 1 || list[0].URI != in.URI || !list[0].Enabled {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := s.DeleteInterface(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInterface(ctx, in.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: want ErrNotFound, got %v", err)
	}
}
