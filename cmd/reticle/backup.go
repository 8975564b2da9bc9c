package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/reticle-mesh/reticle/pkg/backup"
	"github.com/reticle-mesh/reticle/pkg/buildinfo"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// runBackup implements `reticle backup --out FILE`: a snapshot of the data dir, safe while a node runs
// on it (the database is copied with VACUUM INTO inside one read transaction).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", config.Default().DataDir, "data directory to back up")
	out := fs.String("out", "", "archive to write (required); it appears only once complete")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: reticle backup --out FILE [--data-dir DIR]")
		return 2
	}
	dbPath := filepath.Join(*dataDir, backup.DatabaseFile)
	if _, err := os.Stat(dbPath); err != nil {
		fmt.Fprintf(stderr, "reticle backup: no database at %s (check --data-dir)\n", filepath.Clean(dbPath))
		return 1
	}
	if _, err := os.Lstat(*out); err == nil {
		fmt.Fprintf(stderr, "reticle backup: %s exists; choose a new file name\n", *out)
		return 1
	}
	start := time.Now()
	fmt.Fprintf(stderr, "backing up %s ...\n", filepath.Clean(*dataDir))
	// SkipMigrate: a running node owns the schema; this only reads.
	st, err := store.Open(ctx, store.Options{Path: dbPath, SkipMigrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(stderr, "reticle backup: %v\n", err)
		return 1
	}
	m, err := backup.Create(ctx, st, *dataDir, *out, backup.CreateOptions{Reason: "manual", Version: buildinfo.Get().Version})
	_ = st.Close()
	if err != nil {
		fmt.Fprintf(stderr, "reticle backup: %v\n", err)
		return 1
	}
	size := int64(0)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "snapshot written: %s (%d messages, %d files, schema %d, %.1f MB, %s)\n",
		*out, m.Messages, len(m.Files), m.SchemaVersion, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
	if n := len(m.MissingAttachments); n > 0 {
		fmt.Fprintf(stderr, "warning: %d attachment files the messages refer to were missing from %s and are not in the archive\n", n, *dataDir)
	}
	return 0
}

// runRestore implements `reticle restore FILE`: the node must be stopped (its lock is taken for the
// whole restore). The archive is verified completely, staged inside the data dir, the current data is
// snapshotted into snapshots/, then swapped out; the at-rest state is updated so the next start does
// not report the restored identities as tampering.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", config.Default().DataDir, "data directory to restore into")
	verifyOnly := fs.Bool("verify-only", false, "only check the archive; change nothing")
	usage := "usage: reticle restore FILE [--data-dir DIR] [--verify-only]"
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	file := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fmt.Fprintf(stderr, "verifying %s ...\n", file)
	m, err := backup.Verify(file, backup.Limits{})
	if err != nil {
		fmt.Fprintf(stderr, "reticle restore: refused, nothing changed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "archive OK: taken %s by reticle %q, schema %d, %d messages, %d files\n",
		m.CreatedAt.Format(time.RFC3339), m.ReticleVersion, m.SchemaVersion, m.Messages, len(m.Files))
	if *verifyOnly {
		fmt.Fprintln(stdout, "verified; nothing changed")
		return 0
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		fmt.Fprintf(stderr, "reticle restore: %v\n", err)
		return 1
	}
	lock, err := backup.Acquire(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "reticle restore: %v\n", err)
		return 1
	}
	defer func() { _ = lock.Release() }()
	m, saved, err := backup.Restore(ctx, file, *dataDir, backup.RestoreOptions{Version: buildinfo.Get().Version})
	if err != nil {
		fmt.Fprintf(stderr, "reticle restore: failed, the data dir is as it was: %v\n", err)
		return 1
	}
	if saved != "" {
		fmt.Fprintf(stderr, "the previous data was saved as %s\n", filepath.Join(*dataDir, backup.SnapshotsDir, saved))
	}
	if err := sealRestored(ctx, *dataDir, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(stderr, "reticle restore: restored, but recording the at-rest state failed (run `reticle verify --ack-at-rest --data-dir %s`): %v\n", *dataDir, err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %d messages and %d files into %s; start reticle to use them\n", m.Messages, len(m.Files), *dataDir)
	return 0
}

// sealRestored records restored identity files and database as the accepted at-rest baseline: the
// identity record in the database, then integrity.json. The store is opened (and migrated, with a
// premigrate snapshot first) as the next start would.
func sealRestored(ctx context.Context, dataDir string, log *slog.Logger) error {
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dataDir, backup.DatabaseFile), Logger: log,
		BeforeMigrate: premigrateSnapshot(dataDir, log)})
	if err != nil {
		return err
	}
	serr := integrity.SealRecord(ctx, dataDir, st)
	if err := st.Close(); err != nil && serr == nil {
		serr = err
	}
	if serr != nil {
		return serr
	}
	_, err = integrity.Acknowledge(dataDir, integrity.AtRestOptions{Logger: log})
	return err
}

// premigrateSnapshot is the store's BeforeMigrate hook: a snapshot of the database as it was before
// any migration touches it, in snapshots/ (never rotated out).
func premigrateSnapshot(dataDir string, log *slog.Logger) func(context.Context, *store.Store, int, int) error {
	return func(ctx context.Context, st *store.Store, from, to int) error {
		name, err := backup.CreateIn(ctx, st, dataDir, "premigrate", buildinfo.Get().Version)
		if err != nil {
			return fmt.Errorf("snapshot before migrating: %w", err)
		}
		log.Info("snapshot taken before migrating", "from", from, "to", to, "name", name)
		return nil
	}
}
