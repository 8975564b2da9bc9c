package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/backup"
	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

const testOwnerPassword = "correct horse battery staple"

type node struct {
	cfg  config.Config
	a    *appliance
	base string
	c    *http.Client
	csrf string
}

func startNode(t *testing.T, dataDir string) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dataDir
	cfg.InitialPassword = testOwnerPassword
	ctx := context.Background()
	a, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	n := &node{cfg: cfg, a: a, base: "http://" + a.web.Addr(), c: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	resp := n.do(t, "POST", "/api/v1/auth/login", strings.NewReader(`{"password":"`+testOwnerPassword+`"}`), "application/json", true)
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(resp.body, &out) != nil {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	n.csrf = out.CSRF
	return n
}

// result is a response read and closed.
type result struct {
	StatusCode int
	Header     http.Header
	body       []byte
}

func (n *node) do(t *testing.T, method, path string, body io.Reader, ctype string, csrf bool) result {
	t.Helper()
	r, err := http.NewRequest(method, n.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if csrf {
		r.Header.Set("X-CSRF-Token", n.csrf)
	}
	resp, err := n.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{StatusCode: resp.StatusCode, Header: resp.Header, body: b}
}

func readAll(_ *testing.T, r result) []byte { return r.body }

func addMessages(t *testing.T, dataDir string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dataDir, backup.DatabaseFile), SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	for i := range n {
		m := &store.Message{MessageID: fmt.Sprintf("%064x", i), Direction: store.DirectionIn, Peer: fmt.Sprintf("%032x", 1),
			Content: []byte("hi"), Timestamp: float64(i), State: store.StateReceived, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if _, err := st.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMoveThroughAPIWithCSRF: node A takes a snapshot through the API; node B (another machine, its
// own identity) gets it uploaded with its session and CSRF token, reports that a restart is needed,
// and after the restart has A's identity byte for byte, A's messages, a pre-restore snapshot of its
// old data and an at-rest state that is ok, not tampered. `reticle restore` on a running node is
// refused, and `reticle backup` works while it runs.
func TestMoveThroughAPIWithCSRF(t *testing.T) {
	ctx := context.Background()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := startNode(t, dirA)
	addMessages(t, dirA, 25)
	if r := a.do(t, "POST", "/api/v1/snapshots", nil, "", false); r.StatusCode != 403 {
		t.Fatalf("snapshot without CSRF: %d", r.StatusCode)
	}
	r := a.do(t, "POST", "/api/v1/snapshots", nil, "", true)
	var sn struct {
		Name     string `json:"name"`
		Messages int64  `json:"messages"`
	}
	if b := readAll(t, r); r.StatusCode != 201 || json.Unmarshal(b, &sn) != nil || sn.Messages != 25 {
		t.Fatalf("create snapshot: %d %s", r.StatusCode, b)
	}
	for _, bad := range []string{"..%2Freticle.db", "%2e%2e%2fintegrity.json", "reticle.db", "reticle-x.zip"} {
		if r := a.do(t, "GET", "/api/v1/snapshots/"+bad, nil, "", false); r.StatusCode != 400 && r.StatusCode != 404 {
			t.Errorf("download %q: %d", bad, r.StatusCode)
		}
	}
	r = a.do(t, "GET", "/api/v1/snapshots/"+sn.Name, nil, "", false)
	archive := readAll(t, r)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	// reticle backup works while A runs; reticle restore is refused.
	var so, se bytes.Buffer
	out := filepath.Join(t.TempDir(), "cli.zip")
	if code := runBackup(ctx, []string{"--data-dir", dirA, "--out", out}, &so, &se); code != 0 {
		t.Fatalf("backup while running: %d %s", code, se.String())
	}
	se.Reset()
	if code := runRestore(ctx, []string{out, "--data-dir", dirA}, &so, &se); code == 0 || !strings.Contains(se.String(), "running") {
		t.Fatalf("restore on a running node: %d %s", code, se.String())
	}
	idA, err := os.ReadFile(filepath.Join(dirA, "identities", "lxmf"))
	if err != nil {
		t.Fatal(err)
	}

	b := startNode(t, dirB)
	if r := b.do(t, "POST", "/api/v1/restore", bytes.NewReader(archive), "application/zip", false); r.StatusCode != 403 {
		t.Fatalf("restore without CSRF: %d", r.StatusCode)
	}
	if r := b.do(t, "POST", "/api/v1/restore", strings.NewReader("PK garbage"), "application/zip", true); r.StatusCode != 422 {
		t.Fatalf("garbage restore: %d", r.StatusCode)
	}
	r = b.do(t, "POST", "/api/v1/restore", bytes.NewReader(archive), "application/zip", true)
	if body := readAll(t, r); r.StatusCode != 202 || !strings.Contains(string(body), `"restart_required":true`) {
		t.Fatalf("restore: %d %s", r.StatusCode, body)
	}
	r = b.do(t, "GET", "/api/v1/snapshots", nil, "", false)
	if body := readAll(t, r); !strings.Contains(string(body), "pending_restore") {
		t.Fatalf("list does not show the pending restore: %s", body)
	}
	if err := a.a.stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.a.stop(); err != nil {
		t.Fatal(err)
	}
	b = startNode(t, dirB) // applies the staged restore; the login uses A's owner password
	defer func() { _ = b.a.stop() }()
	if rep := b.a.atRest.Report(); rep.Status != integrity.AtRestOK {
		t.Fatalf("at-rest after restore: %+v", rep)
	}
	idB, err := os.ReadFile(filepath.Join(dirB, "identities", "lxmf"))
	if err != nil || !bytes.Equal(idA, idB) {
		t.Fatalf("identity not restored byte for byte: %v", err)
	}
	r = b.do(t, "GET", "/api/v1/snapshots", nil, "", false)
	body := readAll(t, r)
	if !strings.Contains(string(body), "prerestore") || strings.Contains(string(body), "pending_restore") {
		t.Fatalf("after restart: %s", body)
	}
	r = b.do(t, "GET", "/api/v1/conversations", nil, "", false)
	if body := readAll(t, r); r.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf("%032x", 1)) {
		t.Fatalf("conversations after restore: %d %s", r.StatusCode, body)
	}
}
