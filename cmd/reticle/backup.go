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
// on it (the database is copied with VACUUM INTO inside one read transaction, or with pg_dump when the
// store is in PostgreSQL: RETICLE_DATABASE).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", config.DefaultDataDir(os.Getenv), "data directory to back up (RETICLE_DATA_DIR)")
	out := fs.String("out", "", "archive to write (required); it appears only once complete")
	ppFile := fs.String("passphrase-file", "", "seal the archive with the passphrase on this file's first line (age format; for copies that leave the machine)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	database, err := config.DatabaseFromEnv(os.Getenv) // the PostgreSQL store, if the node uses one
	if err != nil {
		fmt.Fprintf(stderr, "reticle backup: %v\n", err)
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: reticle backup --out FILE [--data-dir DIR] [--passphrase-file FILE]")
		return 2
	}
	passphrase := ""
	if *ppFile != "" {
		var err error
		if passphrase, err = readNewPassword(*ppFile, nil, stderr); err == nil {
			err = backup.CheckPassphrase(passphrase)
		}
		if err != nil {
			fmt.Fprintf(stderr, "reticle backup: --passphrase-file: %v\n", err)
			return 2
		}
	}
	dbPath := filepath.Join(*dataDir, backup.DatabaseFile)
	if _, err := os.Stat(dbPath); err != nil && database == "" {
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
	st, err := store.Open(ctx, store.Options{Path: dbPath, Database: database, SkipMigrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(stderr, "reticle backup: %v\n", err)
		return 1
	}
	plain := *out
	if passphrase != "" {
		// The plain archive is written inside the data dir, which already holds the keys, then sealed to --out.
		work, err := os.MkdirTemp(*dataDir, ".seal-")
		if err != nil {
			_ = st.Close()
			fmt.Fprintf(stderr, "reticle backup: %v\n", err)
			return 1
		}
		defer func() { _ = os.RemoveAll(work) }()
		plain = filepath.Join(work, "snapshot.zip")
	}
	m, err := backup.Create(ctx, st, *dataDir, plain, backup.CreateOptions{Reason: "manual", Version: buildinfo.Get().Version})
	_ = st.Close()
	if err == nil && passphrase != "" {
		err = backup.SealFile(plain, *out, passphrase)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reticle backup: %v\n", err)
		return 1
	}
	size := int64(0)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	sealed := ""
	if passphrase != "" {
		sealed = "sealed, "
	}
	fmt.Fprintf(stdout, "snapshot written: %s (%s%d messages, %d files, schema %d, %.1f MB, %s)\n",
		*out, sealed, m.Messages, len(m.Files), m.SchemaVersion, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
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
	dataDir := fs.String("data-dir", config.DefaultDataDir(os.Getenv), "data directory to restore into (RETICLE_DATA_DIR)")
	verifyOnly := fs.Bool("verify-only", false, "only check the archive; change nothing")
	ppFile := fs.String("passphrase-file", "", "open a sealed archive with the passphrase on this file's first line")
	usage := "usage: reticle restore FILE [--data-dir DIR] [--verify-only] [--passphrase-file FILE]"
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
	plain, cleanup, err := openSealed(file, *dataDir, *ppFile, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "reticle restore: refused, nothing changed: %v\n", err)
		return 1
	}
	defer cleanup()
	file = plain
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

// openSealed returns the plain archive to restore: file itself, or for a sealed archive a copy opened
// with the passphrase from ppFile into a private temp dir (inside the data dir when it exists, which
// already holds keys), removed by cleanup.
func openSealed(file, dataDir, ppFile string, stderr io.Writer) (plain string, cleanup func(), err error) {
	cleanup = func() {}
	sealed, err := backup.IsSealedFile(file)
	if err != nil || !sealed {
		return file, cleanup, err
	}
	if ppFile == "" {
		return "", cleanup, fmt.Errorf("%w (--passphrase-file FILE)", backup.ErrSealed)
	}
	passphrase, err := readNewPassword(ppFile, nil, stderr)
	if err != nil {
		return "", cleanup, fmt.Errorf("--passphrase-file: %w", err)
	}
	base := dataDir
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		base = os.TempDir()
	}
	work, err := os.MkdirTemp(base, ".unseal-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { _ = os.RemoveAll(work) }
	plain, err = backup.UnsealFile(file, work, passphrase, backup.Limits{})
	if err != nil {
		cleanup()
		return "", func() {}, err
	}
	fmt.Fprintln(stderr, "sealed archive opened with the passphrase")
	return plain, cleanup, nil
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
		if errors.Is(err, store.ErrNoPGDump) {
			// Each PostgreSQL migration runs in one transaction (DDL included), so a failed one leaves
			// the schema as it was; without pg_dump the copy is the operator's.
			log.Warn("migrating the PostgreSQL store without a snapshot (no pg_dump); take a dump first if you want a copy",
				"from", from, "to", to)
			return nil
		}
		if err != nil {
			return fmt.Errorf("snapshot before migrating: %w", err)
		}
		log.Info("snapshot taken before migrating", "from", from, "to", to, "name", name)
		return nil
	}
}
