package browser

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserTwoNodes runs ui/tests/twonode.mjs against two real nodes joined by a loopback TCP
// interface (A listens, B connects): messages with an image and a file from A reach B live, B's quoted
// reply and reaction reach A live, A's messages are delivered, and after A blocks B nothing more of B's
// is stored on A. Screenshots at desktop and phone width go to test/browser/screenshots/twonode.
func TestBrowserTwoNodes(t *testing.T) {
	dir := t.TempDir()
	root, chromium, node, bin := tools(t, dir)
	pwFile := filepath.Join(dir, "owner-password")
	if err := os.WriteFile(pwFile, []byte("two node browser test password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	mesh := freeAddr(t)
	start := func(name, iface string) (string, *serverLog) {
		web := freeAddr(t)
		srv := exec.CommandContext(ctx, bin, "serve", "--listen", web, "--data-dir", filepath.Join(dir, name),
			"--display-name", name, "--interface", iface)
		srv.Env = append(os.Environ(), "RETICLE_INITIAL_PASSWORD_FILE="+pwFile)
		stderr, err := srv.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
		log := &serverLog{}
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.add(sc.Text())
			}
		}()
		base := "http://" + web
		for deadline := time.Now().Add(30 * time.Second); ; {
			resp, err := http.Get(base + "/healthz")
			if err == nil {
				_ = resp.Body.Close()
				return base, log
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not answering: %v\n%s", name, err, log.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	baseA, logA := start("Alice", "tcp-server://"+mesh)
	baseB, logB := start("Bob", "tcp-client://"+mesh)

	shots := filepath.Join(root, "test/browser/screenshots/twonode")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	run := exec.CommandContext(ctx, node, filepath.Join(root, "ui/tests/twonode.mjs"), baseA, baseB,
		"--password-file", pwFile, "--screenshot-dir", shots)
	run.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := run.CombinedOutput()
	t.Logf("twonode output:\n%s", out)
	if err != nil {
		t.Fatalf("two-node browser test failed: %v\nnode A log:\n%s\nnode B log:\n%s", err, logA.String(), logB.String())
	}
}
