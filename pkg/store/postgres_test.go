package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestMaskDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://reticle:s3cret@db.example:5432/reticle?sslmode=require", "postgres://reticle@db.example:5432/reticle?sslmode=require"},
		{"postgresql://u@127.0.0.1/r", "postgresql://u@127.0.0.1/r"},
		{"postgres://u:p%40ss@h/r?password=s3cret&sslpassword=s3cret&application_name=x", "postgres://u@h/r?application_name=x"},
		{"postgres://h/r", "postgres://h/r"},
		{"host=h password=s3cret", "(unparseable database URL)"},
		{"::::", "(unparseable database URL)"},
	} {
		got := MaskDSN(tc.in)
		if got != tc.want {
			t.Errorf("MaskDSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("MaskDSN(%q) leaks the password: %q", tc.in, got)
		}
	}
}

// TestOpenPostgresErrorHidesPassword: a server that does not answer (a closed loopback port) fails
// Open with an error that names the host but not the password.
func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{Database: "postgres://reticle:s3cret@127.0.0.1:1/reticle?sslmode=disable&connect_timeout=5"})
	if err == nil {
		t.Fatal("Open against a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "postgres://reticle@127.0.0.1:1/reticle") {
		t.Errorf("error does not name the (masked) database: %v", err)
	}
	for _, bad := range []string{"mysql://u:s3cret@h/r", "postgres://u:s3cret@127.0.0.1:notaport/r", "postgres://u:s3cret@127.0.0.1/r?sslmode=bogus"} {
		if _, err := Open(ctx, Options{Database: bad}); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("%s: %v", MaskDSN(bad), err)
		}
	}
}

func TestPostgresDiskFullMapsToErrStorageFull(t *testing.T) {
	err := fmt.Errorf("insert: %w", &pgconn.PgError{Code: pgDiskFull, Message: "could not extend file"})
	if !errors.Is(translate(err), ErrStorageFull) {
		t.Fatal("disk_full is not ErrStorageFull")
	}
	if errors.Is(translate(&pgconn.PgError{Code: "23505"}), ErrStorageFull) {
		t.Fatal("a unique violation is ErrStorageFull")
	}
}

// openPG opens a store on a fresh PostgreSQL schema, or skips without RETICLE_TEST_DATABASE.
func openPG(t *testing.T) (Options, *Store) {
	t.Helper()
	if !testkit.UsesPostgres() {
		t.Skip("set RETICLE_TEST_DATABASE to a PostgreSQL URL (.ci/postgres start DIR prints one)")
	}
	p := filepath.Join(t.TempDir(), "pg")
	o := Options{Path: p, Database: testkit.Database(t, p)}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return o, s
}

// TestPostgresSingleWriter: while one store is open on a database, a second Open refuses with
// ErrLocked and says what to do; a read-only (SkipMigrate) open still works; after Close, the next
// Open gets the lock. Another schema of the same database is another store and is not blocked.
func TestPostgresSingleWriter(t *testing.T) {
	ctx := context.Background()
	o, first := openPG(t)
	_, err := Open(ctx, o)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "stop it, or give this instance its own database") {
		t.Errorf("the refusal does not say what to do: %v", err)
	}
	ro := o
	ro.SkipMigrate = true
	reader, err := Open(ctx, ro)
	if err != nil {
		t.Fatalf("read-only Open beside the writer: %v", err)
	}
	closeStore(t, reader)
	_, other := openPG(t)
	closeStore(t, other)
	closeStore(t, first)
	again, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open after the first store closed: %v", err)
	}
	closeStore(t, again)
}

// TestPostgresPoolIsBounded: the pool is MaxConns plus the lock's connection, and the lock's connection
// is really held (one open connection even when idle).
func TestPostgresPoolIsBounded(t *testing.T) {
	_, s := openPG(t)
	defer closeStore(t, s)
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := sqlDB.Stats().MaxOpenConnections; got != DefaultMaxConns+1 {
		t.Fatalf("MaxOpenConnections = %d, want %d", got, DefaultMaxConns+1)
	}
	// pool_max_conns in the URL sizes it (and is not sent to the server as a setting).
	u, err := url.Parse(s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	small, err := Open(context.Background(), Options{Database: u.String(), SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	smallDB, _ := small.db.DB()
	if got := smallDB.Stats().MaxOpenConnections; got != 4 {
		t.Errorf("with pool_max_conns=3: MaxOpenConnections = %d, want 4", got)
	}
	closeStore(t, small)
	q.Set("pool_max_conns", "1000")
	u.RawQuery = q.Encode()
	if _, err := Open(context.Background(), Options{Database: u.String(), SkipMigrate: true}); err == nil ||
		!strings.Contains(err.Error(), "pool_max_conns") {
		t.Errorf("pool_max_conns=1000: %v", err)
	}
	if st := sqlDB.Stats(); st.InUse != 1 {
		t.Fatalf("connections in use when idle = %d, want 1 (the lock)", st.InUse)
	}
	if err := s.Checkpoint(context.Background()); err != nil {
		t.Fatalf("Checkpoint is not a no-op on PostgreSQL: %v", err)
	}
	if err := s.VacuumInto(context.Background(), filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, ErrSnapshotUnsupported) ||
		!strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("VacuumInto on PostgreSQL: %v", err)
	}
}

// TestSearchIgnoresCaseAndBadUTF8 runs on both dialects: conversation search matches content whatever
// its ASCII case, and a message whose bytes are not UTF-8 neither breaks the search nor hides others.
func TestSearchIgnoresCaseAndBadUTF8(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	now := time.Now().UTC()
	for i, c := range [][]byte{[]byte("Hello Mesh"), {0xff, 0xfe, 0x00, 'x'}, []byte("grüße aus Köln")} {
		m := &Message{MessageID: fmt.Sprintf("%064d", i), Direction: DirectionIn, Peer: fmt.Sprintf("peer%d", i),
			Content: c, State: StateReceived, CreatedAt: now, UpdatedAt: now}
		if _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ q, peer string }{{"hello mesh", "peer0"}, {"MESH", "peer0"}, {"köln", "peer2"}} {
		rows, _, err := s.ListConversations(ctx, ConversationQuery{Search: tc.q, Limit: 10})
		if err != nil {
			t.Fatalf("search %q: %v", tc.q, err)
		}
		if len(rows) != 1 || rows[0].Peer != tc.peer {
			t.Errorf("search %q found %+v, want %s", tc.q, rows, tc.peer)
		}
	}
}

// TestPostgresDumpRestoresEveryRow: Dump writes pg_dump's custom format of the store's schema, which
// pg_restore brings back row for row.
func TestPostgresDumpRestoresEveryRow(t *testing.T) {
	if _, err := FindPGDump(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	o, s := openPG(t)
	if err := s.SetSetting(ctx, "instance_name", "dumped"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 20 {
		m := &Message{MessageID: fmt.Sprintf("%064d", i), Direction: DirectionIn, Peer: "p", Content: []byte{byte(i), 0xff},
			Timestamp: float64(i), State: StateReceived, CreatedAt: now, UpdatedAt: now}
		if _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "reticle.pgdump")
	if err := s.Dump(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := s.Dump(ctx, out); err == nil {
		t.Fatal("Dump over an existing file succeeded")
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("PGDMP")) {
		t.Fatalf("not a pg_dump custom-format file: %q %v", b[:min(len(b), 8)], err)
	}
	var schema string
	if err := s.db.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	// Drop the schema and restore it from the dump.
	if err := testkitExec(t, o.Database, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		t.Fatal(err)
	}
	bin, _ := FindPGDump()
	u, _ := url.Parse(o.Database)
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	cmd := exec.Command(filepath.Join(filepath.Dir(bin), "pg_restore"), "--no-owner", "--dbname="+u.String(), out) //nolint:gosec // G204: test
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, msg)
	}
	r, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, r)
	got, err := r.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("restored dump differs:\nwant %v\ngot  %v", want, got)
	}
	if v, err := r.GetSetting(ctx, "instance_name"); err != nil || v != "dumped" {
		t.Fatalf("setting after restore: %q %v", v, err)
	}
}

// testkitExec runs one statement on its own connection (through a throwaway store-free pool).
func testkitExec(t *testing.T, dsn, sql string) error {
	t.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{})
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer func() { _ = sqlDB.Close() }()
	return db.Exec(sql).Error
}

// TestTimesReadBackInUTC: a stored time reads back as the same instant on both dialects; PostgreSQL
// gives it in UTC whatever the server's or this host's time zone (SQLite keeps the offset it was
// written with, and the store writes UTC).
func TestTimesReadBackInUTC(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("X", 5*3600+1800))
	m := &Message{MessageID: fmt.Sprintf("%064d", 1), Direction: DirectionIn, Peer: "p", State: StateReceived,
		CreatedAt: at, UpdatedAt: at}
	if _, err := s.InsertMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMessage(ctx, m.MessageID, DirectionIn)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(at) || (s.pg && got.CreatedAt.Location() != time.UTC) {
		t.Fatalf("created_at read back as %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), at)
	}
}

// TestPostgresLockLostAndTaken: when the lock's connection is killed, the store takes the lock again
// and keeps working; when another instance took it meanwhile, the store stops using the database (its
// calls fail) and the other instance is the only writer.
func TestPostgresLockLostAndTaken(t *testing.T) {
	ctx := context.Background()
	o, first := openPG(t)
	closeStore(t, first)
	o.LockCheck = 20 * time.Millisecond
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	admin, err := sql.Open("pgx", o.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	const ours = `locktype = 'advisory' AND granted AND classid = $1
		AND objid = hashtext(current_database() || '.' || COALESCE(current_schema(), ''))::oid AND pid <> pg_backend_pid()`
	killLock := func() {
		t.Helper()
		if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE `+ours, lockClass); err != nil {
			t.Fatal(err)
		}
	}
	holder := func() int { // without taking it: the backend holding the lock, 0 for none
		var pid int
		err := admin.QueryRowContext(ctx, `SELECT pid FROM pg_locks WHERE `+ours, lockClass).Scan(&pid)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return pid
	}

	before := holder()
	if before == 0 {
		t.Fatal("the open store holds no lock")
	}
	killLock()
	deadline := time.Now().Add(10 * time.Second)
	for p := holder(); (p == 0 || p == before) && time.Now().Before(deadline); p = holder() {
		time.Sleep(20 * time.Millisecond)
	}
	if p := holder(); p == 0 || p == before {
		t.Fatal("the store did not take its lock again after the connection was killed")
	}
	if err := s.SetSetting(ctx, "k", "still mine"); err != nil {
		t.Fatalf("write after the lock came back: %v", err)
	}

	// Kill it again and let another instance in first.
	o2 := o
	o2.LockCheck = time.Hour
	killLock()
	var other *Store
	for time.Now().Before(deadline.Add(10 * time.Second)) {
		if other, err = Open(ctx, o2); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if other == nil {
		t.Fatalf("the other instance never got the lock: %v", err)
	}
	defer closeStore(t, other)
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) { // reads until the store notices (within LockCheck), then it refuses
		if _, err := s.GetSetting(ctx, "k"); err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.SetSetting(ctx, "k", "sharing"); err == nil {
		t.Fatal("the store that lost its lock to another instance still writes")
	}
	if v, err := other.GetSetting(ctx, "k"); err != nil || v != "still mine" {
		t.Fatalf("the other instance reads %q, %v", v, err)
	}
}
