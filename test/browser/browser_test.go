// Package browser runs the real-browser smoke test: the real binary serves the embedded UI on loopback
// and headless Chromium (driven by ui/tests/smoke.mjs with playwright-core) walks setup, login and the
// main screens, failing on any console error, failed request or CSP violation.
package browser

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func requireOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
		t.Fatalf("required for CI: %s", why)
	}
	t.Skipf("skipping: %s (set RETICLE_REQUIRE_EXTERNAL=1 to make this fail)", why)
}

var setupCodeRE = regexp.MustCompile(`setup code: ([A-Za-z0-9-]+)`)

// tools finds what a browser test needs, skipping (or failing under RETICLE_REQUIRE_EXTERNAL=1) when
// something is missing, and builds the real binary into dir.
func tools(t *testing.T, dir string) (root, chromium, node, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	root, _ = filepath.Abs("../..")
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		requireOrSkip(t, "chromium not installed (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		requireOrSkip(t, "node not installed")
	}
	if _, err := os.Stat(filepath.Join(root, "ui/node_modules/playwright-core")); err != nil {
		requireOrSkip(t, "ui/node_modules missing (cd ui && npm ci)")
	}
	bin = filepath.Join(dir, "reticle")
	build := exec.Command("go", "build", "-o", bin, "./cmd/reticle")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return root, chromium, node, bin
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func TestBrowserSmoke(t *testing.T) {
	dir := t.TempDir()
	root, chromium, node, bin := tools(t, dir)
	addr := freeAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"))
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	codes := make(chan string, 1)
	var log serverLog
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			log.add(line)
			if m := setupCodeRE.FindStringSubmatch(line); m != nil {
				select {
				case codes <- m[1]:
				default:
				}
			}
		}
	}()
	var code string
	select {
	case code = <-codes:
	case <-time.After(30 * time.Second):
		t.Fatalf("no 'setup code:' line in the log within 30 s:\n%s", log.String())
	}
	base := "http://" + addr
	// The setup code is logged while the appliance is still starting; wait (bounded) for the listener.
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	shot := filepath.Join(dir, "smoke.png")
	// Screenshots of the main screens at desktop and phone width are kept for CI artifacts.
	shots := filepath.Join(root, "test/browser/screenshots/smoke")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	smoke := exec.CommandContext(ctx, node, filepath.Join(root, "ui/tests/smoke.mjs"), base, "--setup-code", code, "--screenshot", shot, "--screenshot-dir", shots)
	smoke.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := smoke.CombinedOutput()
	t.Logf("smoke output:\n%s", out)
	if err != nil {
		t.Fatalf("browser smoke test failed: %v\nserver log:\n%s", err, log.String())
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot written: %v", err)
	}
}

// serverLog collects the server's log lines for failure messages.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
