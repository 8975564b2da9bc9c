package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestVacuumIntoCopiesEveryRow(t *testing.T) {
	ctx := context.Background()
	s, _ := openTempSQLite(t)
	defer closeStore(t, s)
	if err := s.SetSetting(ctx, "instance_name", "x"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		m := &Message{MessageID: string(rune('a'+i)) + "1", Direction: DirectionIn, Peer: "p", Content: []byte{byte(i)},
			Timestamp: float64(i), State: StateReceived, CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
		if _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want["messages"].Rows != 20 {
		t.Fatalf("digest counts %d messages, want 20", want["messages"].Rows)
	}
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := s.VacuumInto(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := s.VacuumInto(ctx, out); err == nil {
		t.Fatal("VacuumInto over an existing file succeeded")
	}
	c, err := Open(ctx, Options{Path: out, SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, c)
	got, err := c.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("copy digest differs:\n got %v\nwant %v", got, want)
	}
	// The digest notices a changed row.
	if err := c.SetSetting(ctx, "instance_name", "y"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Digest(ctx); reflect.DeepEqual(got, want) {
		t.Fatal("digest did not change after a row changed")
	}
	if n, err := s.MessageCount(ctx); err != nil || n != 20 {
		t.Fatalf("MessageCount = %d, %v", n, err)
	}
}

// TestUpgradeFromFirstSchema builds a database at migration 1 with data and upgrades it to the latest.
func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	old, p := openTemp(t, 1)
	if err := old.SetSetting(ctx, "instance_name", "first"); err != nil {
		t.Fatal(err)
	}
	closeStore(t, old)
	var hook [2]int
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p), BeforeMigrate: func(_ context.Context, _ *Store, from, to int) error {
		hook = [2]int{from, to}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	if hook != [2]int{1, LatestSchemaVersion()} {
		t.Fatalf("BeforeMigrate saw %v, want [1 %d]", hook, LatestSchemaVersion())
	}
	if v, _ := s.SchemaVersion(ctx); v != LatestSchemaVersion() {
		t.Fatalf("schema %d after upgrade", v)
	}
	if v, err := s.GetSetting(ctx, "instance_name"); err != nil || v != "first" {
		t.Fatalf("setting after upgrade = %q, %v", v, err)
	}
	m := &Message{MessageID: "m1", Direction: DirectionOut, Peer: "p", State: StateQueued, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatalf("upgraded schema is not usable: %v", err)
	}
}

// TestUpgradeKeepsMessagesFromPreviousSchema writes a message row at N-1 and reads it back after upgrading.
func TestUpgradeKeepsMessagesFromPreviousSchema(t *testing.T) {
	ctx := context.Background()
	latest := LatestSchemaVersion()
	old, p := openTemp(t, latest-1)
	err := old.db.Exec(`INSERT INTO messages (message_id, direction, peer, content, timestamp, state, created_at, updated_at)
		VALUES ('old1', 'in', 'peer1', ?, 1.5, 'received', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, []byte("hi")).Error
	if err != nil {
		t.Fatal(err)
	}
	closeStore(t, old)
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	m, err := s.GetMessage(ctx, "old1", DirectionIn)
	if err != nil || string(m.Content) != "hi" || m.Peer != "peer1" {
		t.Fatalf("message after upgrade = %+v, %v", m, err)
	}
}

// TestFailedMigrationRollsBack injects a migration that writes and then fails: the schema version, the
// tables and every row stay as they were.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	if err := s.SetSetting(ctx, "k", "before"); err != nil {
		t.Fatal(err)
	}
	before, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("injected failure")
	ms := append(migrations(), migration{version: LatestSchemaVersion() + 1, name: "broken", up: func(tx *gorm.DB) error {
		if err := execAll(tx, `CREATE TABLE half_done (x INTEGER)`, `UPDATE settings SET value = 'after' WHERE key = 'k'`); err != nil {
			return err
		}
		return boom
	}})
	hooked := false
	err = s.migrate(ctx, ms, 0, func(context.Context, *Store, int, int) error { hooked = true; return nil })
	if !errors.Is(err, boom) {
		t.Fatalf("migrate: want the injected error, got %v", err)
	}
	if !hooked {
		t.Error("BeforeMigrate was not called before the pending migration")
	}
	if v, _ := s.SchemaVersion(ctx); v != LatestSchemaVersion() {
		t.Fatalf("schema version moved to %d", v)
	}
	after, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("failed migration changed the database:\nbefore %v\nafter  %v", before, after)
	}
	// A failing BeforeMigrate stops the migration before anything runs.
	err = s.migrate(ctx, append(migrations(), migration{version: LatestSchemaVersion() + 1, name: "ok",
		up: func(tx *gorm.DB) error { return execAll(tx, `CREATE TABLE fine (x INTEGER)`) }}), 0,
		func(context.Context, *Store, int, int) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("want the hook's error, got %v", err)
	}
	if v, _ := s.SchemaVersion(ctx); v != LatestSchemaVersion() {
		t.Fatalf("schema version moved to %d after a refused hook", v)
	}
}
