package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReleaseBinaryDefaultsToEnforce runs a version-stamped binary with no manifest next to it and no
// --verify: it must refuse to start (enforce), while the same binary with --verify=warn and a
// development build without flags start. RETICLE_VERIFY is cleared so the environment cannot decide.
func TestReleaseBinaryDefaultsToEnforce(t *testing.T) {
	release := buildBinary(t, "v9.9.9-test")
	dev := buildBinary(t, "")
	tests := []struct {
		name      string
		bin       string
		args      []string
		wantStart bool
		wantText  string
	}{
		{name: "release without flags refuses", bin: release, wantText: "no release manifest found"},
		{name: "release with --verify=warn starts", bin: release, args: []string{"--verify", "warn"}, wantStart: true},
		{name: "dev build without flags starts", bin: dev, wantStart: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
				"--manifest", filepath.Join(dir, "none", "manifest.json")}, tc.args...)
			cmd := exec.CommandContext(ctx, tc.bin, args...)
			cmd.Env = cleanEnv()
			out := &lockedBuffer{}
			cmd.Stderr = out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done, exited := make(chan error, 1), make(chan struct{})
			go func() { done <- cmd.Wait(); close(exited) }()
			if !tc.wantStart {
				select {
				case err := <-done:
					if err == nil {
						t.Fatal("release binary without a manifest exited 0")
					}
				case <-ctx.Done():
					t.Fatal("release binary without a manifest did not refuse to start")
				}
				if !strings.Contains(out.String(), tc.wantText) {
					t.Fatalf("output lacks %q:\n%s", tc.wantText, out.String())
				}
				return
			}
			if !waitFor(ctx, exited, out, "web server listening") {
				t.Fatalf("did not start:\n%s", out.String())
			}
			_ = cmd.Process.Kill()
			<-done
		})
	}
}

// cleanEnv is the environment without RETICLE_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RETICLE_") {
			env = append(env, kv)
		}
	}
	return env
}
