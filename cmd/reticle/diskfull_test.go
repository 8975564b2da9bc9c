package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/config"
)

const diskFullPassword = "correct horse battery staple 42"

// mountTmpfs mounts a tmpfs of the given size on a fresh dir and unmounts it in cleanup. Not root: skip.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test needs root to mount a tmpfs (CI runs it as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a JSON request and returns the status and the decoded body.
func (c *webClient) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *webClient) login() int {
	c.t.Helper()
	st, body := c.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"password": diskFullPassword})
	if tok, ok := body["csrf_token"].(string); ok {
		c.csrf = tok
	}
	return st
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// fill writes a file until the file system is full (bounded by max bytes).
func fill(t *testing.T, path string, max int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	chunk := make([]byte, 16<<10)
	for n := 0; n < max; n += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatalf("file system not full after %d bytes", max)
}

// TestDiskFullTmpfs runs the appliance with its data dir on an 8 MiB tmpfs, fills the file system, and
// checks: sends answer 507 storage_full, login and reads keep working, /readyz says degraded, and all
// of it recovers when space frees.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(mnt, "data")
	cfg.Interfaces = []string{"tcp-server://127.0.0.1:0"}
	cfg.InitialPassword = diskFullPassword
	cfg.MinFreeMB = 2
	ctx := context.Background()
	a, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.stop() })
	base := "http://" + a.web.Addr()
	owner := newWebClient(t, base)
	if st := owner.login(); st != http.StatusOK {
		t.Fatalf("login with space: %d", st)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "storage.reserve")); err != nil {
		t.Fatalf("no space reserve: %v", err)
	}
	send := map[string]string{"to": strings.Repeat("ab", 16), "content": "hello"}
	if st, body := owner.do(http.MethodPost, "/api/v1/messages", send); st/100 != 2 {
		t.Fatalf("send with space: %d %v", st, body)
	}
	readyz := func() (int, map[string]any) { return newWebClient(t, base).do(http.MethodGet, "/readyz", nil) }
	waitStorage := func(want string) map[string]any {
		t.Helper()
		var body map[string]any
		for range 100 { // the watermark is checked at most every 2 s
			var st int
			if st, body = readyz(); st == http.StatusOK && body["storage"] == want {
				return body
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("readyz never said storage %q: %v", want, body)
		return nil
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler, 16<<20)
	body := waitStorage("degraded")
	if body["status"] != "degraded" {
		t.Errorf("readyz status %v, want degraded", body["status"])
	}
	if st, body := owner.do(http.MethodPost, "/api/v1/messages", send); st != http.StatusInsufficientStorage || errCode(body) != "storage_full" {
		t.Fatalf("send on a full disk: %d %v, want 507 storage_full", st, body)
	}
	// A second browser logs in on the full disk and reads.
	other := newWebClient(t, base)
	if st := other.login(); st != http.StatusOK {
		t.Fatalf("login on a full disk: %d", st)
	}
	if st, body := other.do(http.MethodGet, "/api/v1/messages", nil); st != http.StatusOK {
		t.Fatalf("read on a full disk: %d %v", st, body)
	}
	st, info := other.do(http.MethodGet, "/api/v1/storage", nil)
	if st != http.StatusOK || info["status"] != "degraded" {
		t.Fatalf("storage on a full disk: %d %v", st, info)
	}
	if info["reserve_bytes"] != float64(0) {
		t.Errorf("space reserve still held on a full disk: %v", info["reserve_bytes"])
	}
	if refused, _ := info["refused"].(map[string]any); refused["sends"] != float64(1) {
		t.Errorf("refused sends %v, want 1", refused["sends"])
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitStorage("ok")
	if st, body := owner.do(http.MethodPost, "/api/v1/messages", map[string]string{"to": send["to"], "content": "after"}); st/100 != 2 {
		t.Fatalf("send after recovery: %d %v", st, body)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "storage.reserve")); err != nil {
		t.Errorf("space reserve not restored after recovery: %v", err)
	}
}
