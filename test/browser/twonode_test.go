package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
)

// TestBrowserTwoNodes runs ui/tests/twonode.mjs against two real nodes joined by a loopback TCP
// interface (A listens; B's owner adds the client interface from the Interfaces screen and A hears B's
// interface-up announce without anyone pressing Announce): messages with an image and a file from A reach B live, B's quoted
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
		args := []string{"serve", "--listen", web, "--data-dir", filepath.Join(dir, name), "--display-name", name}
		if iface != "" {
			args = append(args, "--interface", iface)
		}
		srv := exec.CommandContext(ctx, bin, args...)
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
	baseB, logB := start("Bob", "") // B's owner joins A from the Interfaces screen

	shots := filepath.Join(root, "test/browser/screenshots/twonode")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	exported := filepath.Join(dir, "exported.key")
	run := exec.CommandContext(ctx, node, filepath.Join(root, "ui/tests/twonode.mjs"), baseA, baseB,
		"--password-file", pwFile, "--screenshot-dir", shots, "--export-to", exported, "--mesh", mesh)
	run.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := run.CombinedOutput()
	t.Logf("twonode output:\n%s", out)
	if err != nil {
		t.Fatalf("two-node browser test failed: %v\nnode A log:\n%s\nnode B log:\n%s", err, logA.String(), logB.String())
	}
	// B's QR code, as the screenshot shows it, scans to lxma://ADDRESS:PUBLICKEY with B's key.
	if zbar, err := exec.LookPath("zbarimg"); err != nil {
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatal("zbarimg not installed (apt-get install zbar-tools): the QR code cannot be scanned")
		}
		t.Log("zbarimg not installed: the QR code was not scanned")
	} else {
		out, err := exec.CommandContext(ctx, zbar, "--raw", "-q", filepath.Join(shots, "twonode-1b-b-qr-phone.png")).Output()
		idB, err2 := identity.Load(filepath.Join(dir, "Bob", "identities", "lxmf"))
		if err != nil || err2 != nil {
			t.Fatalf("scan the QR code: %v; load B's identity: %v", err, err2)
		}
		text := strings.TrimSpace(string(out))
		if !strings.HasPrefix(text, "lxma://") || !strings.HasSuffix(text, ":"+hex.EncodeToString(idB.PublicKey())) {
			t.Fatalf("B's QR code scans to %q, want lxma://ADDRESS:%x", text, idB.PublicKey())
		}
	}
	// The identity A's owner downloaded is A's key file byte for byte.
	got, err1 := os.ReadFile(exported)
	want, err2 := os.ReadFile(filepath.Join(dir, "Alice", "identities", "lxmf"))
	if err1 != nil || err2 != nil || len(got) != 64 || !bytes.Equal(got, want) {
		t.Fatalf("exported identity: %d bytes (%v), identity file (%v), equal %v", len(got), err1, err2, bytes.Equal(got, want))
	}
}
