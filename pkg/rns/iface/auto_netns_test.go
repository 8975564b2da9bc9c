package iface

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The netns test runs one AutoInterface in each of two network namespaces
// joined by a veth pair; each side is this test binary re-executed under
// "ip netns exec" in helper mode (TestAutoNetnsHelper), reporting events as
// JSON lines on stdout.

const autoHelperEnv = "RETICLE_AUTO_HELPER"

type autoEvent struct {
	Event string `json:"event"`
	Addr  string `json:"addr,omitempty"`
	Data  string `json:"data,omitempty"`
	LLA   string `json:"lla,omitempty"`
}

// TestAutoNetnsHelper is the helper process; it does nothing in a normal
// test run.
func TestAutoNetnsHelper(t *testing.T) {
	if os.Getenv(autoHelperEnv) != "1" {
		t.Skip("helper process for TestAutoNetns")
	}
	var outMu sync.Mutex
	emit := func(e autoEvent) {
		b, _ := json.Marshal(e)
		outMu.Lock()
		_, _ = fmt.Fprintf(os.Stdout, "%s\n", b)
		outMu.Unlock()
	}
	msg := []byte(os.Getenv("RETICLE_AUTO_MSG"))
	spec, err := Parse("auto://?group_id=" + os.Getenv("RETICLE_AUTO_GROUP") + "&devices=" + os.Getenv("RETICLE_AUTO_DEVICE"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	h := &helperHandler{emit: emit, msg: msg, ctx: ctx}
	a, err := NewAuto(spec, Options{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	for _, d := range a.devices {
		emit(autoEvent{Event: "ready", LLA: d.lla.String()})
	}
	// Run until the parent closes stdin or the deadline passes.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	h.wg.Wait()
}

type helperHandler struct {
	emit func(autoEvent)
	msg  []byte
	ctx  context.Context
	wg   sync.WaitGroup
}

func (h *helperHandler) Attach(i Interface) {
	p := i.(*autoPeer)
	h.emit(autoEvent{Event: "peer", Addr: p.addr.String()})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for range 300 {
			_ = i.Send(h.msg)
			select {
			case <-h.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (h *helperHandler) Detach(i Interface) { h.emit(autoEvent{Event: "gone", Addr: i.Name()}) }

func (h *helperHandler) Inbound(i Interface, frame []byte) {
	h.emit(autoEvent{Event: "frame", Addr: i.(*autoPeer).addr.String(), Data: hex.EncodeToString(frame)})
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsPair creates two namespaces joined by a veth pair with IPv6
// link-local addresses, or skips the test saying why. The namespaces (and
// with them the veth pair) are deleted in t.Cleanup.
func netnsPair(t *testing.T) (nsA, nsB, devA, devB string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces need Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed")
	}
	id := os.Getpid() % 10_000_000
	nsA, nsB = fmt.Sprintf("reticle-%d-a", id), fmt.Sprintf("reticle-%d-b", id)
	devA, devB = fmt.Sprintf("rtl%da", id), fmt.Sprintf("rtl%db", id)
	for _, ns := range []string{nsA, nsB} {
		if err := run("ip", "netns", "add", ns); err != nil {
			t.Skipf("kernel refused a network namespace: %v", err)
		}
		t.Cleanup(func() {
			if err := run("ip", "netns", "del", ns); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	steps := [][]string{
		{"ip", "link", "add", devA, "type", "veth", "peer", "name", devB},
		{"ip", "link", "set", devA, "netns", nsA},
		{"ip", "link", "set", devB, "netns", nsB},
		{"ip", "netns", "exec", nsA, "sysctl", "-qw", "net.ipv6.conf." + devA + ".accept_dad=0"},
		{"ip", "netns", "exec", nsB, "sysctl", "-qw", "net.ipv6.conf." + devB + ".accept_dad=0"},
		{"ip", "-n", nsA, "link", "set", devA, "up"},
		{"ip", "-n", nsB, "link", "set", devB, "up"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Skipf("cannot build the veth pair: %v", err)
		}
	}
	for _, p := range [][2]string{{nsA, devA}, {nsB, devB}} {
		ok := false
		for range 100 {
			out, _ := exec.Command("ip", "-n", p[0], "-6", "addr", "show", "dev", p[1]).CombinedOutput()
			if ok = strings.Contains(string(out), "fe80::") && !strings.Contains(string(out), "tentative"); ok {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ok {
			t.Skipf("no IPv6 link-local address on %s in %s", p[1], p[0])
		}
	}
	return nsA, nsB, devA, devB
}

type helperProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan autoEvent
}

func startHelper(t *testing.T, ns, dev, group, msg string) *helperProc {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestAutoNetnsHelper$")
	cmd.Env = append(os.Environ(), autoHelperEnv+"=1", "RETICLE_AUTO_DEVICE="+dev, "RETICLE_AUTO_GROUP="+group, "RETICLE_AUTO_MSG="+msg)
	cmd.Stderr = os.Stderr
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
	h := &helperProc{cmd: cmd, stdin: stdin, events: make(chan autoEvent, 1024)}
	go func() {
		defer close(h.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e autoEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event != "" {
				select {
				case h.events <- e:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return h
}

// TestAutoNetns: two AutoInterfaces in two network namespaces find each
// other by multicast discovery and exchange frames.
func TestAutoNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("netns test skipped with -short")
	}
	nsA, nsB, devA, devB := netnsPair(t)
	group := fmt.Sprintf("reticle-test-%d", time.Now().UnixNano())
	a := startHelper(t, nsA, devA, group, "hello from a")
	b := startHelper(t, nsB, devB, group, "hello from b")
	type state struct{ lla, peer, got string }
	var sa, sb state
	deadline := time.After(30 * time.Second)
	for sa.got == "" || sb.got == "" || sa.peer == "" || sb.peer == "" {
		var e autoEvent
		var s *state
		var ok bool
		select {
		case e, ok = <-a.events:
			s = &sa
		case e, ok = <-b.events:
			s = &sb
		case <-deadline:
			t.Fatalf("no exchange within 30s: a=%+v b=%+v", sa, sb)
		}
		if !ok {
			t.Fatalf("a helper exited early: a=%+v b=%+v", sa, sb)
		}
		switch e.Event {
		case "ready":
			s.lla = e.LLA
		case "peer":
			s.peer = e.Addr
		case "frame":
			d, _ := hex.DecodeString(e.Data)
			s.got = string(d)
		}
	}
	if sa.got != "hello from b" || sb.got != "hello from a" {
		t.Fatalf("frames: a got %q, b got %q", sa.got, sb.got)
	}
	if sa.peer != sb.lla || sb.peer != sa.lla {
		t.Fatalf("peers: a=%+v b=%+v", sa, sb)
	}
	t.Logf("a %s and b %s peered on group %s (%s) and exchanged frames", sa.lla, sb.lla, group, AutoMulticastAddress(group))
}
