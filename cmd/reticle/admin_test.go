package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/auth"
	"github.com/reticle-mesh/reticle/pkg/store"
)

func TestAdminResetPassword(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "reticle.db")
	st, err := store.Open(ctx, store.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := auth.New(auth.Options{Hash: auth.HashParams{MemoryKiB: 64, Iterations: 1, Threads: 1}}, st)
	if _, err := svc.Bootstrap(ctx, "the old password!"); err != nil {
		t.Fatal(err)
	}
	ns, err := svc.Login(ctx, auth.Client{IP: "192.0.2.1", Path: "/login"}, "the old password!")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var out, errb bytes.Buffer
	cases := []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{"no subcommand", nil, "", 2},
		{"unknown subcommand", []string{"nuke"}, "", 2},
		{"wrong data dir", []string{"reset-password", "--data-dir", filepath.Join(dir, "nope")}, "a long new password\n", 1},
		{"weak password", []string{"reset-password", "--data-dir", dir}, "short\n", 1},
		{"empty stdin", []string{"reset-password", "--data-dir", dir}, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := runAdmin(ctx, tc.args, &out, &errb, strings.NewReader(tc.stdin)); code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errb.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("reset-password created a data dir that did not exist")
	}
	if code := runAdmin(ctx, []string{"reset-password", "--data-dir", dir}, &out, &errb, strings.NewReader("a long new password\r\n")); code != 0 {
		t.Fatalf("reset from stdin: exit %d: %s", code, errb.String())
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("third password here\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(ctx, store.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ = auth.New(auth.Options{}, st)
	if _, err := svc.AuthenticateSession(ctx, ns.Secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("session survived reset: %v", err)
	}
	if _, err := svc.Login(ctx, auth.Client{IP: "192.0.2.1", Path: "/login"}, "a long new password"); err != nil {
		t.Fatalf("login with reset password: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if code := runAdmin(ctx, []string{"reset-password", "--data-dir", dir, "--password-file", pwFile}, &out, &errb, strings.NewReader("")); code != 0 {
		t.Fatalf("reset from file: exit %d: %s", code, errb.String())
	}
	st, _ = store.Open(ctx, store.Options{Path: dbPath})
	defer func() { _ = st.Close() }()
	svc, _ = auth.New(auth.Options{}, st)
	if _, err := svc.Login(ctx, auth.Client{IP: "192.0.2.2", Path: "/login"}, "third password here"); err != nil {
		t.Fatalf("login with password from file: %v", err)
	}
}
