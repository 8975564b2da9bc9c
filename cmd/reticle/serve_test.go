package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/config"
	"github.com/reticle-mesh/reticle/pkg/integrity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

func testStdio(out, errw io.Writer, env map[string]string) stdio {
	return stdio{in: strings.NewReader(""), out: out, err: errw, getenv: func(k string) string { return env[k] }}
}

func TestServeInProcess(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Interfaces = []string{"tcp-server://127.0.0.1:0"}
	ctx := context.Background()
	a, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.web.Addr()
	for path, want := range map[string]int{"/": 200, "/healthz": 200, "/readyz": 200, "/api/v1/anything": 401} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	// The clean stop recorded the at-rest state, so a second start reports "ok", not "unclean".
	rep, err := integrity.Inspect(cfg.DataDir, integrity.AtRestOptions{})
	if err != nil || rep.Status != integrity.AtRestOK {
		t.Fatalf("at-rest after clean stop: %+v %v", rep, err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "identities", "transport")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("transport identity: %v %v", fi, err)
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi, err)
	}
	// The database is complete and reopenable after the stop.
	st, err := store.Open(ctx, store.Options{Path: cfg.DBPath()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycleRollsBackAndStopsInReverse(t *testing.T) {
	var order []string
	mk := func(name string, failStart bool) component {
		return component{name: name,
			start: func(context.Context) error {
				if failStart {
					return io.ErrUnexpectedEOF
				}
				order = append(order, "start "+name)
				return nil
			},
			stop: func() error { order = append(order, "stop "+name); return nil }}
	}
	lc := &lifecycle{log: slog.New(slog.DiscardHandler)}
	lc.add(mk("a", false))
	lc.add(mk("b", false))
	lc.add(mk("c", true))
	err := lc.start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start c") {
		t.Fatalf("err = %v", err)
	}
	want := "start a,start b,stop b,stop a"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestInvalidConfigExitsWithOneLine(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--log-format", "yaml"}, testStdio(&out, &errb, nil))
	if code == 0 {
		t.Fatal("expected non-zero exit")
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `--log-format "yaml"`) {
		t.Fatalf("stderr = %q", errb.String())
	}
}

func TestServeHelpExitsZeroWithoutError(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"serve", arg}, testStdio(&out, &errb, nil))
		all := out.String() + errb.String()
		if code != 0 {
			t.Fatalf("%s: exit %d, output %q", arg, code, all)
		}
		if !strings.Contains(all, "-interface") || strings.Contains(all, "invalid configuration") || strings.Contains(all, "help requested") {
			t.Fatalf("%s: output %q", arg, all)
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, testStdio(&out, &errb, nil)); code != 0 || !strings.HasPrefix(out.String(), "reticle ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"version", "--json"}, testStdio(&out, &errb, nil)); code != 0 || !strings.Contains(out.String(), `"commit"`) {
		t.Fatalf("version --json: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, testStdio(&out, &errb, nil)); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(500)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	var out, errb bytes.Buffer
	base := "http://" + ln.Addr().String()
	if code := run(context.Background(), []string{"healthcheck", "--url", base + "/healthz"}, testStdio(&out, &errb, nil)); code != 0 {
		t.Fatalf("healthy: %d %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"healthcheck", "--url", base + "/other"}, testStdio(&out, &errb, nil)); code != 1 {
		t.Fatalf("unhealthy: %d", code)
	}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln2.Addr().String()
	_ = ln2.Close()
	if code := run(context.Background(), []string{"healthcheck", "--url", "http://" + dead + "/healthz", "--timeout", "2s"}, testStdio(&out, &errb, nil)); code != 1 {
		t.Fatalf("down: %d", code)
	}
}

// TestBinarySignalShutdown builds the real binary, starts it, and checks SIGTERM stops it cleanly and
// quickly with exit 0.
func TestBinarySignalShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reticle")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Read stderr to its end before Wait: Wait closes the pipe, and lines still unread would be lost.
	var all []string
	budget := time.After(12 * time.Second)
	for open := true; open; {
		select {
		case l, ok := <-lines:
			if ok {
				all = append(all, l)
			}
			open = ok
		case <-budget:
			t.Fatal("did not stop within the 10 s budget")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(strings.Join(all, "\n"), "stopped cleanly") {
		t.Fatalf("log did not report a clean stop:\n%s", strings.Join(all, "\n"))
	}
}
