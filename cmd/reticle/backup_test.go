package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
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

// TestSealedBackupsThroughAPIAndCLI: a snapshot leaves the machine sealed with a passphrase, through
// the API (the passphrase in the JSON body) and through `reticle backup --passphrase-file`; a sealed
// archive is refused without its passphrase and with a wrong one (nothing staged), and the right one
// opens it for `reticle restore` and for the browser upload (multipart with a passphrase field).
func TestSealedBackupsThroughAPIAndCLI(t *testing.T) {
	ctx := context.Background()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := startNode(t, dirA)
	defer func() { _ = a.a.stop() }()
	addMessages(t, dirA, 7)
	r := a.do(t, "POST", "/api/v1/snapshots", nil, "", true)
	var sn struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(r.body, &sn) != nil || r.StatusCode != 201 {
		t.Fatalf("create snapshot: %d %s", r.StatusCode, r.body)
	}
	const pass = "a long enough passphrase"
	if r := a.do(t, "POST", "/api/v1/snapshots/"+sn.Name+"/sealed", strings.NewReader(`{"passphrase":"short"}`), "application/json", true); r.StatusCode != 400 || !strings.Contains(string(r.body), "invalid_passphrase") {
		t.Fatalf("short passphrase: %d %s", r.StatusCode, r.body)
	}
	if r := a.do(t, "POST", "/api/v1/snapshots/"+sn.Name+"/sealed", strings.NewReader(`{"passphrase":"`+pass+`"}`), "application/json", false); r.StatusCode != 403 {
		t.Fatalf("sealed download without CSRF: %d", r.StatusCode)
	}
	if r := a.do(t, "POST", "/api/v1/snapshots/..%2Freticle.db/sealed", strings.NewReader(`{"passphrase":"`+pass+`"}`), "application/json", true); r.StatusCode != 400 && r.StatusCode != 404 {
		t.Fatalf("sealed download of a hostile name: %d", r.StatusCode)
	}
	r = a.do(t, "POST", "/api/v1/snapshots/"+sn.Name+"/sealed", strings.NewReader(`{"passphrase":"`+pass+`"}`), "application/json", true)
	sealedAPI := r.body
	if r.StatusCode != 200 || !bytes.HasPrefix(sealedAPI, []byte("age-encryption.org/v1\n")) ||
		r.Header.Get("Content-Disposition") != `attachment; filename="`+sn.Name+`.age"` {
		t.Fatalf("sealed download: %d %q %q", r.StatusCode, r.Header.Get("Content-Disposition"), sealedAPI[:min(len(sealedAPI), 30)])
	}

	// The CLI seals as well, and restore needs the passphrase to open the result.
	tmp := t.TempDir()
	ppFile, wrongFile := filepath.Join(tmp, "pass"), filepath.Join(tmp, "wrong")
	if err := os.WriteFile(ppFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrongFile, []byte("not the right passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var so, se bytes.Buffer
	out := filepath.Join(tmp, "cli.zip.age")
	if code := runBackup(ctx, []string{"--data-dir", dirA, "--out", out, "--passphrase-file", ppFile}, &so, &se); code != 0 || !strings.Contains(so.String(), "sealed") {
		t.Fatalf("sealed backup: %d %s %s", code, so.String(), se.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dirA, ".seal-*")); len(left) > 0 {
		t.Fatalf("plain temp archive left in the data dir: %v", left)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{out, "--verify-only"}, "sealed with a passphrase"},
		{[]string{out, "--verify-only", "--passphrase-file", wrongFile}, "wrong passphrase"},
	} {
		se.Reset()
		if code := runRestore(ctx, c.args, &so, &se); code == 0 || !strings.Contains(se.String(), c.want) {
			t.Fatalf("restore %v: %d, stderr %q, want %q", c.args, code, se.String(), c.want)
		}
	}
	so.Reset()
	if code := runRestore(ctx, []string{out, "--verify-only", "--passphrase-file", ppFile}, &so, &se); code != 0 || !strings.Contains(so.String(), "verified") {
		t.Fatalf("restore --verify-only with the passphrase: %d %s", code, se.String())
	}

	// The browser upload: multipart with the passphrase field before the archive.
	b := startNode(t, dirB)
	defer func() { _ = b.a.stop() }()
	upload := func(passphrase string) result {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if passphrase != "" {
			_ = mw.WriteField("passphrase", passphrase)
		}
		fw, _ := mw.CreateFormFile("archive", "x.zip.age")
		_, _ = fw.Write(sealedAPI)
		_ = mw.Close()
		return b.do(t, "POST", "/api/v1/restore", &body, mw.FormDataContentType(), true)
	}
	if r := upload(""); r.StatusCode != 422 || !strings.Contains(string(r.body), "passphrase_required") {
		t.Fatalf("sealed upload without passphrase: %d %s", r.StatusCode, r.body)
	}
	if r := upload("not the right passphrase"); r.StatusCode != 422 || !strings.Contains(string(r.body), "wrong_passphrase") {
		t.Fatalf("sealed upload with a wrong passphrase: %d %s", r.StatusCode, r.body)
	}
	if r := b.do(t, "GET", "/api/v1/snapshots", nil, "", false); strings.Contains(string(r.body), "pending_restore") {
		t.Fatal("a refused sealed upload left a pending restore")
	}
	if r := upload(pass); r.StatusCode != 202 || !strings.Contains(string(r.body), `"messages":7`) {
		t.Fatalf("sealed upload: %d %s", r.StatusCode, r.body)
	}
}

// TestCommandsFollowDataDirEnv: `reticle backup`, `restore` and `admin` without --data-dir use
// RETICLE_DATA_DIR, as `serve` does; the image sets it to /data, and a restore there must not try to
// create ./reticle-data on a read-only root.
func TestCommandsFollowDataDirEnv(t *testing.T) {
	ctx := context.Background()
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	n := startNode(t, src)
	if err := n.a.stop(); err != nil {
		t.Fatal(err)
	}
	addMessages(t, src, 3)
	t.Chdir(t.TempDir()) // a ./reticle-data created by mistake would show up here
	archive := filepath.Join(t.TempDir(), "move.zip")
	var so, se bytes.Buffer
	t.Setenv("RETICLE_DATA_DIR", src)
	if code := runBackup(ctx, []string{"--out", archive}, &so, &se); code != 0 {
		t.Fatalf("backup with RETICLE_DATA_DIR: %d %s", code, se.String())
	}
	t.Setenv("RETICLE_DATA_DIR", dst)
	if code := runRestore(ctx, []string{archive}, &so, &se); code != 0 {
		t.Fatalf("restore with RETICLE_DATA_DIR: %d %s", code, se.String())
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("another long owner password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := runAdmin(ctx, []string{"reset-password", "--password-file", pw}, &so, &se, strings.NewReader("")); code != 0 {
		t.Fatalf("admin with RETICLE_DATA_DIR: %d %s", code, se.String())
	}
	if _, err := os.Stat("reticle-data"); !os.IsNotExist(err) {
		t.Fatalf("a command wrote ./reticle-data although RETICLE_DATA_DIR was set: %v", err)
	}
	idSrc, err1 := os.ReadFile(filepath.Join(src, "identities", "lxmf"))
	idDst, err2 := os.ReadFile(filepath.Join(dst, "identities", "lxmf"))
	if err1 != nil || err2 != nil || !bytes.Equal(idSrc, idDst) {
		t.Fatalf("identity not moved: %v %v", err1, err2)
	}
}
