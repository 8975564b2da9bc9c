package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DatabaseEnv names the switch that runs store-backed tests on PostgreSQL: set it to a server's URL
// (e.g. the one .ci/postgres prints) and every test that asks Database gets a fresh schema there.
const DatabaseEnv = "RETICLE_TEST_DATABASE"

// databases maps an (absolute) SQLite path a test uses to the PostgreSQL URL standing in for it, so a
// test that closes and reopens "its file" reopens the same schema.
type databases struct {
	mu sync.Mutex
	m  map[string]string
}

var testDatabases = databases{m: map[string]string{}}

// Database returns the PostgreSQL URL a test's store should open instead of the SQLite file at path,
// or "" when RETICLE_TEST_DATABASE is unset (the store then uses the file, as in production). Each
// distinct path gets its own schema, created now and dropped when the test that first asked ends;
// asking again for the same path returns the same URL.
func Database(t testing.TB, path string) string {
	t.Helper()
	base := os.Getenv(DatabaseEnv)
	if base == "" {
		return ""
	}
	testDatabases.mu.Lock()
	defer testDatabases.mu.Unlock()
	if dsn, ok := testDatabases.m[path]; ok {
		return dsn
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if err := execOnce(base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testkit: create schema on %s: %v", DatabaseEnv, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testkit: %s: %v", DatabaseEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown URL parameters as run-time settings
	u.RawQuery = q.Encode()
	dsn := u.String()
	testDatabases.m[path] = dsn
	t.Cleanup(func() {
		testDatabases.mu.Lock()
		delete(testDatabases.m, path)
		testDatabases.mu.Unlock()
		if err := execOnce(base, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("testkit: drop schema %s: %v", schema, err)
		}
	})
	return dsn
}

// UsesPostgres reports whether store-backed tests run on PostgreSQL (RETICLE_TEST_DATABASE is set).
func UsesPostgres() bool { return os.Getenv(DatabaseEnv) != "" }

func execOnce(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(context.Background()) }()
	_, err = c.Exec(ctx, sql)
	return err
}
