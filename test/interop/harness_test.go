package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

const (
	app    = "reticle_interop"
	aspect = "peer"
)

// requirePython skips (or fails under RETICLE_REQUIRE_EXTERNAL=1) without
// an importable reference.
func requirePython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop tests are slow; skipped with -short")
	}
	out, err := exec.Command("python3", "-c", "import RNS; print(RNS.__version__)").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("python reference not available (python3 -c 'import RNS': %v: %s); pip install rns==1.5.7", err, bytes.TrimSpace(out))
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatal(msg)
		}
		skipMissing(t, "python reference (RNS) not importable", msg)
	}
	t.Logf("python reference RNS %s", bytes.TrimSpace(out))
}

// freePort returns a currently free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeConfig writes a reference config file with one interface section.
func writeConfig(t *testing.T, transport bool, iface string) string {
	t.Helper()
	dir := t.TempDir()
	tr := "No"
	if transport {
		tr = "Yes"
	}
	cfg := fmt.Sprintf(`[reticulum]
  enable_transport = %s
  share_instance = No
  panic_on_interface_error = No

[logging]
  loglevel = 5

[interfaces]
%s
`, tr, iface)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serverSection(port int) string {
	return fmt.Sprintf("  [[TCP Server]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = %d\n", port)
}

func clientSection(port int) string {
	return fmt.Sprintf("  [[TCP Client]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = %d\n", port)
}

type event map[string]any

func (e event) str(k string) string { s, _ := e[k].(string); return s }

func (e event) num(k string) int { f, _ := e[k].(float64); return int(f) }

// proc is a Python process whose output is logged and, for rnspeer, parsed.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	logf   *os.File
	done   chan struct{}

	mu   sync.Mutex
	seen []event
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = logf
	cmd.WaitDelay = 3 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, events: make(chan event, 256), logf: logf, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var ev event
			if json.Unmarshal(line, &ev) != nil {
				_, _ = fmt.Fprintf(logf, "[stdout] %s\n", line)
				continue
			}
			p.mu.Lock()
			p.seen = append(p.seen, ev)
			p.mu.Unlock()
			select {
			case p.events <- ev:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		cancel() // kills the process
		_ = cmd.Wait()
		<-p.done
		_ = logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("---- %s log (last 6000 bytes) ----\n%s", name, tail(b, 6000))
			}
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// startPeer starts rnspeer.py with a generated config.
func startPeer(t *testing.T, name string, transport bool, ifaceSection string, extra ...string) (*proc, event) {
	t.Helper()
	dir := writeConfig(t, transport, ifaceSection)
	p := startProc(t, name, append([]string{"python3", "rnspeer.py", dir, app, aspect}, extra...)...)
	ready := p.wait(20*time.Second, func(e event) bool { return e.str("event") == "ready" })
	if ready == nil {
		t.Fatalf("%s did not become ready", name)
	}
	return p, ready
}

// startRnsd starts the stock rnsd with a generated config.
func startRnsd(t *testing.T, name string, transport bool, ifaceSection string) *proc {
	t.Helper()
	dir := writeConfig(t, transport, ifaceSection)
	return startProc(t, name, "rnsd", "--config", dir, "-v")
}

func (p *proc) send(cmd map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("%s: write command: %v", p.name, err)
	}
}

// wait returns the first event (seen before or arriving within timeout)
// matching pred, or nil.
func (p *proc) wait(timeout time.Duration, pred func(event) bool) event {
	p.mu.Lock()
	for _, e := range p.seen {
		if pred(e) {
			p.mu.Unlock()
			return e
		}
	}
	p.mu.Unlock()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-p.events:
			if pred(e) {
				return e
			}
		case <-p.done:
			return nil
		case <-deadline:
			return nil
		}
	}
}

// waitTCP waits until a TCP port accepts connections.
func waitTCP(t *testing.T, port int) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s", addr)
}

func mustHash(t *testing.T, s string) wire.Hash {
	t.Helper()
	h, err := wire.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func isEvent(kind string, kv ...string) func(event) bool {
	return func(e event) bool {
		if e.str("event") != kind {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if !strings.EqualFold(e.str(kv[i]), kv[i+1]) {
				return false
			}
		}
		return true
	}
}
