package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/auth"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// runAdmin implements `reticle admin SUBCOMMAND`. Today: reset-password, for an owner locked out of the UI
// who has shell access to the data dir. It opens the store directly; stop the server first or restart it
// afterwards so it drops its cached trust key.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: reticle admin reset-password [--data-dir DIR] [--password-file FILE]")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "reset-password":
		return runResetPassword(ctx, args[1:], stdout, stderr, stdin)
	}
	fmt.Fprintf(stderr, "reticle admin: unknown subcommand %q (want reset-password)\n", args[0])
	return 2
}

func runResetPassword(ctx context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) int {
	fs := flag.NewFlagSet("admin reset-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", config.DefaultDataDir(os.Getenv), "data directory holding reticle.db (RETICLE_DATA_DIR)")
	pwFile := fs.String("password-file", "", "read the new password from this file instead of stdin")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reticle admin reset-password: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	dbPath := config.Config{DataDir: *dataDir}.DBPath()
	database, err := config.DatabaseFromEnv(os.Getenv) // the PostgreSQL store, if the node uses one
	if err != nil {
		fmt.Fprintf(stderr, "reticle admin reset-password: %v\n", err)
		return 2
	}
	if _, err := os.Stat(dbPath); err != nil && database == "" {
		fmt.Fprintf(stderr, "reticle admin reset-password: no database at %s (check --data-dir): %v\n", filepath.Clean(dbPath), err)
		return 1
	}
	pw, err := readNewPassword(*pwFile, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "reticle admin reset-password: %v\n", err)
		return 1
	}
	if err := auth.CheckPasswordPolicy(pw); err != nil {
		fmt.Fprintf(stderr, "reticle admin reset-password: %v\n", err)
		return 1
	}
	st, err := store.Open(ctx, store.Options{Path: dbPath, Database: database, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(stderr, "reticle admin reset-password: %v\n", err)
		return 1
	}
	// The reset is committed in its own transaction before Close; a close error cannot undo it.
	defer func() { _ = st.Close() }()
	svc, err := auth.New(auth.Options{}, st)
	if err == nil {
		err = svc.ResetPassword(ctx, pw)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reticle admin reset-password: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "owner password reset; every session ended and trusted browsers forgotten")
	return 0
}

// readNewPassword reads the first line of the password file, or of stdin (prompting on stderr).
func readNewPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	r := stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		defer func() { _ = f.Close() }() // read-only
		r = f
	} else {
		fmt.Fprintf(stderr, "new owner password (at least %d characters), then Enter:\n", auth.MinPasswordLen)
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, auth.MaxPasswordBytes+2), auth.MaxPasswordBytes+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty password")
	}
	return line, nil
}
