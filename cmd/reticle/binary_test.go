package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builtBinaries caches the binaries buildBinary made, one per version stamp, for the whole test run.
var builtBinaries = struct {
	sync.Mutex
	dir  string
	bins map[string]string
}{bins: map[string]string{}}

// buildBinary builds the reticle binary once per version ("" for a development build) and returns its
// path. It skips in -short mode.
func buildBinary(t *testing.T, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	builtBinaries.Lock()
	defer builtBinaries.Unlock()
	if p, ok := builtBinaries.bins[version]; ok {
		return p
	}
	if builtBinaries.dir == "" {
		d, err := os.MkdirTemp("", "reticle-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builtBinaries.dir = d
	}
	name := "reticle-dev"
	args := []string{"build", "-o"}
	if version != "" {
		name = "reticle-" + version
	}
	bin := filepath.Join(builtBinaries.dir, name)
	args = append(args, bin)
	if version != "" {
		args = append(args, "-ldflags", "-X github.com/reticle-mesh/reticle/pkg/buildinfo.Version="+version)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	builtBinaries.bins[version] = bin
	return bin
}

// TestMain removes the binaries buildBinary made.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinaries.dir != "" {
		_ = os.RemoveAll(builtBinaries.dir)
	}
	os.Exit(code)
}

// lockedBuffer collects a child's stderr; safe for the writer goroutine and the test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// waitFor polls out (every 50 ms, until ctx ends or exited is closed) for text.
func waitFor(ctx context.Context, exited <-chan struct{}, out *lockedBuffer, text string) bool {
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		if strings.Contains(out.String(), text) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-exited:
			return strings.Contains(out.String(), text)
		case <-tk.C:
		}
	}
}
