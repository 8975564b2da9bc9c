package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const benchPassword = "reticle-bench-owner" //nolint:gosec // the throwaway nodes' owner password, not a secret

// serveNode is a running `reticle serve` on a temp data dir with a logged-in client.
type serveNode struct {
	cmd   *exec.Cmd
	dir   string
	base  string
	hc    *http.Client
	csrf  string
	ready time.Duration // from exec to the first good /healthz
}

// startServe starts `reticle serve` with flags, waits until it answers and logs in.
func (b *bench) startServe(ctx context.Context, name string, flags ...string) (*serveNode, error) {
	n, err := b.startServeNoLogin(ctx, name, flags...)
	if err != nil {
		return nil, err
	}
	if err := n.login(); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

func (n *serveNode) login() error {
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	if err := n.call(http.MethodPost, "/api/v1/auth/login", map[string]string{"password": benchPassword}, &login); err != nil {
		return err
	}
	n.csrf = login.CSRF
	return nil
}

// startServeNoLogin starts `reticle serve` with flags and waits until it answers.
func (b *bench) startServeNoLogin(ctx context.Context, name string, flags ...string) (*serveNode, error) {
	dir, err := os.MkdirTemp("", "reticle-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(benchPassword), 0o600); err != nil {
		return nil, err
	}
	web, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", web, "--data-dir", filepath.Join(dir, "data"), "--display-name", name,
		"--log-level", "warn", "--verify", "off"}, flags...)
	cmd := exec.CommandContext(ctx, b.reticle, args...) //nolint:gosec // our own binary with our flags
	cmd.Env = append(os.Environ(), "RETICLE_INITIAL_PASSWORD_FILE="+pw)
	logf, err := os.Create(filepath.Join(dir, "log")) //nolint:gosec // our temp dir
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	n := &serveNode{cmd: cmd, dir: dir, base: "http://" + web, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	for {
		if resp, err := n.hc.Get(n.base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				n.ready = time.Since(start)
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			n.stop()
			return nil, fmt.Errorf("%s did not become ready in 30 s (log in %s)", name, dir)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return n, nil
}

func (n *serveNode) stop() {
	_ = n.cmd.Cancel()
	_ = n.cmd.Wait()
	_ = os.RemoveAll(n.dir)
}

// rssKB is the process's resident set size from /proc.
func (n *serveNode) rssKB() (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, errors.New("no VmRSS")
}

// call sends a JSON request and decodes a 2xx answer into out.
func (n *serveNode) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if n.csrf != "" {
		req.Header.Set("X-CSRF-Token", n.csrf)
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (n *serveNode) address() (string, error) {
	var id struct {
		Address string `json:"address"`
	}
	err := n.call(http.MethodGet, "/api/v1/identity", nil, &id)
	return id.Address, err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// idle measures start-to-ready and idle RSS of `reticle serve` with one TCP server interface: before
// anyone logs in, and a few seconds after a login (argon2id takes tens of MB per password check).
func (b *bench) idle(ctx context.Context) error {
	var ready []float64
	var rss, rssLogin int
	for range 3 {
		mesh, err := freeAddr()
		if err != nil {
			return err
		}
		n, err := b.startServeNoLogin(ctx, "idle", "--interface", "tcp-server://"+mesh)
		if err != nil {
			return err
		}
		ready = append(ready, float64(n.ready)/float64(time.Millisecond))
		time.Sleep(5 * time.Second)
		if rss, err = n.rssKB(); err == nil {
			if err = n.login(); err == nil {
				time.Sleep(3 * time.Second)
				rssLogin, err = n.rssKB()
			}
		}
		n.stop()
		if err != nil {
			return err
		}
	}
	sort.Float64s(ready)
	b.report("start-to-ready (median of 3)", ready[1], "ms", "exec to the first 200 from /healthz; target <= 100")
	b.report("idle RSS", float64(rss)/1024, "MiB", "5 s after start, nobody logged in; target <= 30")
	b.report("idle RSS after a login", float64(rssLogin)/1024, "MiB", "3 s after the owner logged in")
	return nil
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(p / 100 * float64(len(s)-1))
	return s[k]
}
