package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/auth"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// TestServeOnPostgres starts the appliance on a PostgreSQL store: the startup line shows the URL
// without its password, no reticle.db appears in the data dir, scheduled snapshots stay on only when
// pg_dump is there (off with the reason otherwise), a second node against the same database refuses
// to start, the clean stop records the identities for the at-rest check, and reticle backup snapshots
// the store through pg_dump, and reticle admin reset-password sets the owner there. It needs
// RETICLE_TEST_DATABASE.
func TestServeOnPostgres(t *testing.T) {
	if !testkit.UsesPostgres() {
		t.Skip("set RETICLE_TEST_DATABASE to a PostgreSQL URL (.ci/postgres start DIR prints one)")
	}
	dsn := testkit.Database(t, filepath.Join(t.TempDir(), "pg"))
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw") // the test cluster trusts loopback; the password must still never show
	newCfg := func() config.Config {
		cfg := config.Default()
		cfg.Listen = "127.0.0.1:0"
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
		cfg.Database = u.String()
		cfg.SnapshotInterval = time.Hour
		return cfg
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	cfg := newCfg()
	a, err := build(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + a.web.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d", resp.StatusCode)
	}
	_, err = build(ctx, newCfg(), slog.New(slog.DiscardHandler))
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("a second node on the same database: %v, want ErrLocked", err)
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Contains(out, "s3cret-pw") {
		t.Fatal("the log shows the database password")
	}
	if !strings.Contains(out, `database="postgres://postgres@127.0.0.1:`) {
		t.Errorf("no masked database line in the log:\n%s", out)
	}
	_, dumpErr := store.FindPGDump()
	if off := strings.Contains(out, "scheduled snapshots are off"); off != (dumpErr != nil) {
		t.Errorf("scheduled snapshots off %v, pg_dump missing %v:\n%s", off, dumpErr != nil, out)
	}
	if _, err := os.Stat(cfg.DBPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reticle.db in the data dir with a PostgreSQL store: %v", err)
	}
	rep, err := integrity.Inspect(cfg.DataDir, integrity.AtRestOptions{})
	if err != nil || rep.Status != integrity.AtRestOK {
		t.Fatalf("at-rest after a clean stop: %+v %v", rep, err)
	}
	// reticle admin reads RETICLE_DATABASE like serve: the owner password is set in PostgreSQL.
	t.Setenv("RETICLE_DATABASE", u.String())
	var aout, aerr bytes.Buffer
	if code := runAdmin(ctx, []string{"reset-password", "--data-dir", cfg.DataDir}, &aout, &aerr,
		strings.NewReader("a long new password\n")); code != 0 {
		t.Fatalf("reticle admin reset-password exit %d: %s", code, aerr.String())
	}
	st, err := store.Open(ctx, store.Options{Path: cfg.DBPath(), Database: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Options{}, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, auth.Client{IP: "192.0.2.1", Path: "/login"}, "a long new password"); err != nil {
		t.Errorf("login with the password reset on PostgreSQL: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// reticle backup reads RETICLE_DATABASE too and snapshots the store with pg_dump.
	if dumpErr == nil {
		archive := filepath.Join(t.TempDir(), "node.zip")
		var stdout, stderr bytes.Buffer
		if code := runBackup(ctx, []string{"--data-dir", cfg.DataDir, "--out", archive}, &stdout, &stderr); code != 0 {
			t.Fatalf("reticle backup exit %d: %s", code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), "s3cret-pw") {
			t.Fatal("reticle backup printed the database password")
		}
		if _, err := os.Stat(archive); err != nil {
			t.Fatalf("no archive: %v", err)
		}
	}
	// The lock went with the stop: the next start on this database works.
	b, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("restart on the same database: %v", err)
	}
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
}
