package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBinary runs `bin serve` on dataDir with extra args and waits until it listens or exits. It
// returns the process, its stderr and a channel closed when it exited.
func startBinary(t *testing.T, ctx context.Context, bin, dataDir string, extra ...string) (*exec.Cmd, *lockedBuffer, <-chan struct{}, bool) {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	out := &lockedBuffer{}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return cmd, out, exited, waitFor(ctx, exited, out, "web server listening")
}

// TestBinaryKillThenSwapIdentityRefused is the case: a real kill -9, then identities/lxmf
// swapped (and, in a second round, integrity.json deleted too). The next start in enforce refuses
// with the ack hint; after `reticle verify --ack-at-rest` it starts again.
func TestBinaryKillThenSwapIdentityRefused(t *testing.T) {
	bin := buildBinary(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, deleteState := range []bool{false, true} {
		data := filepath.Join(t.TempDir(), "data")
		cmd, out, exited, ok := startBinary(t, ctx, bin, data, "--verify", "enforce")
		if !ok {
			t.Fatalf("first start:\n%s", out)
		}
		_ = cmd.Process.Kill() // SIGKILL: no clean shutdown
		<-exited
		if err := os.WriteFile(filepath.Join(data, "identities", "lxmf"), bytes.Repeat([]byte{0x5a}, 64), 0o600); err != nil {
			t.Fatal(err)
		}
		if deleteState {
			if err := os.Remove(filepath.Join(data, "integrity.json")); err != nil {
				t.Fatal(err)
			}
		}
		_, out, exited, ok = startBinary(t, ctx, bin, data, "--verify", "enforce")
		if ok {
			t.Fatalf("started with a swapped identity (delete state %v):\n%s", deleteState, out)
		}
		<-exited
		if s := out.String(); !strings.Contains(s, "identities/lxmf (modified)") || !strings.Contains(s, "reticle verify --ack-at-rest --data-dir "+data) {
			t.Fatalf("refusal lacks the file or the hint:\n%s", s)
		}
		var so, se bytes.Buffer
		if code := verifyWith(ctx, []string{"--ack-at-rest", "--data-dir", data}, &so, &se, nil, true); code != 0 {
			t.Fatalf("ack: %d %s %s", code, so.String(), se.String())
		}
		if _, out, _, ok = startBinary(t, ctx, bin, data, "--verify", "enforce"); !ok {
			t.Fatalf("after ack:\n%s", out)
		}
	}
}

// TestBinaryFileModes runs the real binary under umask 022 in a data dir that already exists with
// 0755, stops it cleanly, and checks every directory in the data dir is 0700 and every file 0600,
// including reticle.db-wal and -shm (taken while it runs), identities and integrity.json.
func TestBinaryFileModes(t *testing.T) {
	bin := buildBinary(t, "")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, out, exited, ok := startBinary(t, ctx, bin, data)
	if !ok {
		t.Fatalf("start:\n%s", out)
	}
	check := func(when string, must ...string) {
		t.Helper()
		seen := map[string]bool{}
		err := filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			st, err := os.Lstat(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(data, p)
			seen[filepath.ToSlash(rel)] = true
			want := os.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s: %s is %v, want %v", when, rel, st.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range must {
			if !seen[m] {
				t.Errorf("%s: %s missing (have %v)", when, m, seen)
			}
		}
	}
	check("running", ".", "reticle.db", "reticle.db-wal", "reticle.db-shm", "identities", "identities/lxmf",
		"identities/transport", "integrity.json")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	if !strings.Contains(out.String(), "stopped cleanly") {
		t.Fatalf("no clean stop:\n%s", out)
	}
	check("stopped", "reticle.db", "integrity.json", "identities/lxmf")
}
