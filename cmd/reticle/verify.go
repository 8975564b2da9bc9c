package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/reticle-mesh/reticle"
	"github.com/reticle-mesh/reticle/pkg/buildinfo"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// runVerify is `reticle verify`: the startup self-verification on demand, and the at-rest check of a
// data dir. It prints one line per file and a verdict, and exits 0 when verified (or an unsigned
// development build), 1 on any failure, 2 on bad flags.
//
//	reticle verify [--manifest F] [--bundle F] [--root DIR] [--exe F] [--mode enforce|warn|off]
//	reticle verify --data-dir DIR                  # also report what changed while stopped (read-only)
//	reticle verify --ack-at-rest --data-dir DIR    # accept the current identities and database
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return verifyWith(ctx, args, stdout, stderr, reticle.CosignPublicKey(), buildinfo.IsDev())
}

// verifyWith is runVerify with the trusted key and the development-build flag injected, for tests.
func verifyWith(ctx context.Context, args []string, stdout, stderr io.Writer, pubPEM []byte, dev bool) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifest := fs.String("manifest", "", "release manifest (default: ../share/reticle/ next to the binary, then /usr/share/reticle/)")
	bundle := fs.String("bundle", "", "signature bundle (default: MANIFEST.sigstore.json)")
	root := fs.String("root", "", "directory manifest paths are relative to (default: the manifest's directory)")
	exe := fs.String("exe", "", "file checked for the \"reticle\" entry (default: this running binary)")
	dataDir := fs.String("data-dir", "", "also check this data dir for changes made while reticle was stopped")
	ack := fs.Bool("ack-at-rest", false, "accept the current identity files and database in --data-dir as the new baseline")
	modeFlag := fs.String("mode", string(integrity.ModeEnforce), "enforce, warn or off")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reticle verify: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	mode, err := integrity.ParseMode(*modeFlag)
	if err != nil {
		fmt.Fprintf(stderr, "reticle verify: %v\n", err)
		return 2
	}
	if *ack {
		if *dataDir == "" {
			fmt.Fprintln(stderr, "reticle verify: --ack-at-rest needs --data-dir")
			return 2
		}
		// The database record first: opening the store may migrate it, and Acknowledge then hashes the
		// database as it will be at the next start.
		if err := sealRecord(ctx, *dataDir); err != nil {
			fmt.Fprintf(stdout, "verdict: FAILED: %v\n", err)
			return 1
		}
		rep, err := integrity.Acknowledge(*dataDir, integrity.AtRestOptions{Mode: mode})
		if err != nil {
			fmt.Fprintf(stdout, "verdict: FAILED: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "at-rest: %s\n", rep.Message)
		fmt.Fprintln(stdout, "verdict: ACKNOWLEDGED")
		return 0
	}

	rep, verr := integrity.Verify(integrity.Options{
		Mode: mode, ManifestPath: *manifest, BundlePath: *bundle, Root: *root, ExePath: *exe,
		PublicKeyPEM: pubPEM, DevBuild: dev,
	})
	printRelease(stdout, rep, pubPEM)
	var failures []string
	if verr != nil || rep.Err != nil {
		failures = append(failures, rep.Message)
	}
	if *dataDir != "" {
		ar, err := integrity.Inspect(*dataDir, integrity.AtRestOptions{Mode: mode})
		if ar.Status != "" {
			fmt.Fprintf(stdout, "at-rest: %s: %s\n", strings.ToUpper(string(ar.Status)), ar.Message)
		}
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	switch {
	case len(failures) > 0:
		fmt.Fprintf(stdout, "verdict: FAILED: %s\n", strings.Join(failures, "; "))
		return 1
	case rep.Status == integrity.StatusUnsignedDev:
		fmt.Fprintln(stdout, "verdict: UNSIGNED DEVELOPMENT BUILD (nothing to verify)")
	case rep.Status == integrity.StatusSkipped:
		fmt.Fprintln(stdout, "verdict: SKIPPED (mode off)")
	default:
		fmt.Fprintf(stdout, "verdict: VERIFIED (%s)\n", countFiles(len(rep.Files)))
	}
	return 0
}

// sealRecord records the current identity files in the database's at-rest record.
func sealRecord(ctx context.Context, dataDir string) error {
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		return fmt.Errorf("acknowledge: data dir %s: not a directory", dataDir)
	}
	database, err := config.DatabaseFromEnv(os.Getenv) // the PostgreSQL store, if the node uses one
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dataDir, integrity.DatabaseFile), Database: database})
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	serr := integrity.SealRecord(ctx, dataDir, st)
	if err := st.Close(); err != nil && serr == nil {
		serr = fmt.Errorf("acknowledge: %w", err)
	}
	return serr
}

// printRelease prints where the release files are, the signature result and one line per file.
func printRelease(w io.Writer, rep integrity.Report, pubPEM []byte) {
	if rep.ManifestPath != "" {
		fmt.Fprintf(w, "manifest  %s\n", rep.ManifestPath)
		fmt.Fprintf(w, "bundle    %s\n", rep.BundlePath)
	}
	switch {
	case rep.Status == integrity.StatusSkipped || rep.Status == integrity.StatusUnsignedDev:
		return
	case len(rep.Files) > 0:
		hint := "?"
		if pub, err := integrity.ParsePublicKeyPEM(pubPEM); err == nil {
			hint, _ = integrity.KeyHint(pub)
		}
		fmt.Fprintf(w, "signature OK (key %s)\n", hint)
	case errors.Is(rep.Err, integrity.ErrNoManifest) || errors.Is(rep.Err, integrity.ErrManifestMissing) ||
		errors.Is(rep.Err, integrity.ErrBundleMissing):
		fmt.Fprintln(w, "signature MISSING")
	default:
		fmt.Fprintln(w, "signature FAILED")
	}
	for _, f := range rep.Files {
		switch f.Status {
		case integrity.FileOK:
			fmt.Fprintf(w, "OK        %s\n", f.Path)
		case integrity.FileMismatch:
			fmt.Fprintf(w, "MISMATCH  %s (%s)\n", f.Path, f.Detail)
		default:
			fmt.Fprintf(w, "%-9s %s (%s)\n", strings.ToUpper(f.Status), f.Path, f.Detail)
		}
	}
}

func countFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
