package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
