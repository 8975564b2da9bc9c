package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// reticleProc is a `reticle serve` binary driven through its HTTP API as the owner.
type reticleProc struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string

	mu  sync.Mutex
	log strings.Builder
}

// startReticleServe runs `reticle serve` with the web API on 127.0.0.1:web and a TCP server interface on
// 127.0.0.1:mesh, the owner password set from a file.
func startReticleServe(t *testing.T, bin, dir, password string, web, mesh int) *reticleProc {
	t.Helper()
	pwFile := filepath.Join(dir, "owner-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", web),
		"--data-dir", filepath.Join(dir, "data"), "--display-name", "Interop Reticle",
		"--interface", fmt.Sprintf("tcp-server://127.0.0.1:%d", mesh))
	cmd.Env = append(os.Environ(), "RETICLE_INITIAL_PASSWORD_FILE="+pwFile)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	r := &reticleProc{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", web), http: &http.Client{Jar: jar, Timeout: time.Minute}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r.mu.Lock()
			r.log.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-done
		if t.Failed() {
			r.mu.Lock()
			t.Logf("---- reticle log (last 6000 bytes) ----\n%s", tail([]byte(r.log.String()), 6000))
			r.mu.Unlock()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := r.http.Get(r.base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reticle not answering: %v", err)
		}
	}
	waitTCP(t, mesh)
	return r
}

func (r *reticleProc) login(password string) {
	r.t.Helper()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	r.call("POST", "/api/v1/auth/login", map[string]string{"password": password}, 200, &out)
	r.csrf = out.CSRF
}

// call sends v as JSON and decodes the answer into out, failing unless the status is want.
func (r *reticleProc) call(method, path string, v any, want int, out any) {
	r.t.Helper()
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	r.raw(method, path, "application/json", body, want, out)
}

func (r *reticleProc) raw(method, path, ctype string, body []byte, want int, out any) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if r.csrf != "" {
		req.Header.Set("X-CSRF-Token", r.csrf)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}
