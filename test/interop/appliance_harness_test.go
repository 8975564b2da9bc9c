package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

// The appliance harness runs the real `reticle serve` binary (built once per test binary) and drives it
// through its HTTP API, as a script or the UI would: for the end-to-end tests that need everything the
// command wires together (plugins, the web API) and a Python peer on the other side.

var buildOnce struct {
	sync.Once
	dir string
	err error
}

// buildTools builds cmd/reticle and cmd/reticle-plugin into a shared temp dir.
func buildTools(t *testing.T) (reticle, pluginTool string) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reticle-interop-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.dir = dir
		for _, c := range []string{"reticle", "reticle-plugin"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, c), "./cmd/"+c)
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildOnce.err = fmt.Errorf("build %s: %w\n%s", c, err, out)
				return
			}
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return filepath.Join(buildOnce.dir, "reticle"), filepath.Join(buildOnce.dir, "reticle-plugin")
}

// appliance is a running `reticle serve` with a logged-in API client.
type appliance struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
	log  *bytes.Buffer
	mu   *sync.Mutex
}

const appliancePassword = "interop-owner-password"

// startAppliance starts `reticle serve` on a fresh data dir with the given extra flags and logs in.
func startAppliance(t *testing.T, name string, flags ...string) *appliance {
	t.Helper()
	bin, _ := buildTools(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(appliancePassword), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"serve", "--listen", web, "--data-dir", filepath.Join(dir, "data"), "--display-name", name}, flags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "RETICLE_INITIAL_PASSWORD_FILE="+pw)
	a := &appliance{t: t, base: "http://" + web, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stdout, cmd.Stderr = lockedWriter{a.mu, a.log}, lockedWriter{a.mu, a.log}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, a.logText())
		}
	})
	jar, _ := cookiejar.New(nil)
	a.hc = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := a.hc.Get(a.base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /healthz within 30 s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, body := a.do(http.MethodPost, "/api/v1/auth/login", "application/json", mustJSON(map[string]string{"password": appliancePassword}))
	if st != http.StatusOK {
		t.Fatalf("login: %d %s", st, body)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &login); err != nil || login.CSRF == "" {
		t.Fatalf("login answer %s: %v", body, err)
	}
	a.csrf = login.CSRF
	return a
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (a *appliance) logText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// do sends one API request with the session and CSRF token and returns the status and body.
func (a *appliance) do(method, path, ctype string, body []byte) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// json sends a JSON request, fails the test unless the status is want, and decodes the answer into out.
func (a *appliance) json(method, path string, in any, want int, out any) {
	a.t.Helper()
	var body []byte
	if in != nil {
		body = mustJSON(in)
	}
	st, b := a.do(method, path, "application/json", body)
	if st != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// address is the node's LXMF delivery address.
func (a *appliance) address() string {
	var id struct {
		Address string `json:"address"`
	}
	a.json(http.MethodGet, "/api/v1/identity", nil, http.StatusOK, &id)
	return id.Address
}

// installExamplePlugin builds examples/plugins/<name> for wasip1, signs it with a publisher key made
// here (the commands the example documents), trusts the key, installs the package through the API,
// grants caps and enables it. It returns the plugin id.
func (a *appliance) installExamplePlugin(name string, caps ...string) string {
	a.t.Helper()
	_, tool := buildTools(a.t)
	dir := a.t.TempDir()
	wasm := filepath.Join(dir, name+".wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, ".")
	build.Dir = "../../examples/plugins/" + name
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		a.t.Fatalf("build plugin %s: %v\n%s", name, err, out)
	}
	key := filepath.Join(dir, "publisher.key")
	out, err := exec.Command(tool, "keygen", "-out", key).CombinedOutput()
	if err != nil {
		a.t.Fatalf("keygen: %v\n%s", err, out)
	}
	pub := strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "public key: ")
	if _, err := base64.StdEncoding.DecodeString(pub); err != nil {
		a.t.Fatalf("keygen output %q", out)
	}
	zip := filepath.Join(dir, name+".zip")
	if out, err := exec.Command(tool, "sign", "-key", key, "-manifest", "../../examples/plugins/"+name+"/manifest.json",
		"-wasm", wasm, "-out", zip).CombinedOutput(); err != nil {
		a.t.Fatalf("sign: %v\n%s", err, out)
	}
	pkg, err := os.ReadFile(zip) //nolint:gosec // our temp file
	if err != nil {
		a.t.Fatal(err)
	}
	a.json(http.MethodPost, "/api/v1/plugins/publishers", map[string]string{"name": "interop publisher", "public_key": pub}, http.StatusCreated, nil)
	st, b := a.do(http.MethodPost, "/api/v1/plugins", "application/zip", pkg)
	if st != http.StatusCreated {
		a.t.Fatalf("install %s: %d %s", name, st, b)
	}
	var info struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &info); err != nil || info.ID == "" {
		a.t.Fatalf("install answer %s: %v", b, err)
	}
	a.json(http.MethodPut, "/api/v1/plugins/"+info.ID+"/grants", map[string]any{"capabilities": caps}, http.StatusOK, nil)
	a.json(http.MethodPut, "/api/v1/plugins/"+info.ID+"/enabled", map[string]bool{"enabled": true}, http.StatusOK, nil)
	return info.ID
}
