package rns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count fds: %v", err)
	}
	return len(ents)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func hasMulticastIface() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 && i.Flags&net.FlagLoopback == 0 {
			return true
		}
	}
	return false
}

// eventLog collects interface events.
type eventLog struct {
	mu  sync.Mutex
	evs []InterfaceEvent
}

func (l *eventLog) add(e InterfaceEvent) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }

func (l *eventLog) has(name, sub string, s iface.State) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.evs {
		if e.Name == name && e.Sub == sub && e.State == s {
			return true
		}
	}
	return false
}

// TestLiveAddRemoveEveryKind adds each interface kind to a running node, sees it come up, removes it and
// checks that goroutines and file descriptors return to where they were.
func TestLiveAddRemoveEveryKind(t *testing.T) {
	if testing.Short() {
		t.Skip("opens sockets; skipped with -short")
	}
	ctx := t.Context()
	srv, err := New(Options{DataDir: t.TempDir(), StatePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	var log eventLog
	defer srv.OnInterfaceEvent(log.add)()

	// A listener the clients connect to, kept for the whole test.
	if _, err := srv.AddInterface("tcp-server://127.0.0.1:0?name=hub"); err != nil {
		t.Fatal(err)
	}
	hub := srv.ListenAddr("hub").String()
	if _, err := srv.AddInterface("tcp-server://" + hub + "?name=again"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listener on %s: %v, want address in use", hub, err)
	}
	cases := []struct{ name, uri string }{
		{"tcp-client", "tcp-client://" + hub + "?name=c1"},
		{"tcp-server", "tcp-server://127.0.0.1:0?name=s1"},
		{"udp", fmt.Sprintf("udp://127.0.0.1:%d?name=u1&forward=127.0.0.1:%d", freeUDPPort(t), freeUDPPort(t))},
		{"shared-instance", fmt.Sprintf("shared-instance://reticle-node-test-%d?name=sh1&role=server", time.Now().UnixNano())},
		{"auto", fmt.Sprintf("auto://?name=a1&group_id=reticle-node-test&discovery_port=%d&data_port=%d", freeUDPPort(t), freeUDPPort(t))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "auto" && !hasMulticastIface() {
				t.Skip("no multicast-capable network interface")
			}
			spec, err := iface.Parse(c.uri)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			g0, fd0 := runtime.NumGoroutine(), openFDs(t)
			i, err := srv.AddInterface(c.uri)
			if err != nil {
				t.Fatal(err)
			}
			if c.name != "auto" { // auto stays down on hosts without a usable link-local address
				waitFor(t, c.name+" up", func() bool { return i.State() == iface.StateUp })
				waitFor(t, c.name+" up event", func() bool { return log.has(spec.Name, "", iface.StateUp) })
			}
			if c.name == "tcp-client" {
				waitFor(t, "hub sees the client", func() bool { return log.has("hub", "", iface.StateUp) || hubClients(srv) == 1 })
				waitFor(t, "sub-interface event", func() bool {
					log.mu.Lock()
					defer log.mu.Unlock()
					for _, e := range log.evs {
						if e.Name == "hub" && e.Sub != "" && e.State == iface.StateUp {
							return true
						}
					}
					return false
				})
			}
			if _, ok := srv.Spec(spec.Name); !ok {
				t.Fatal("spec not listed")
			}
			if err := srv.RemoveInterface(spec.Name); err != nil {
				t.Fatal(err)
			}
			if _, ok := srv.Interface(spec.Name); ok {
				t.Fatal("interface still listed")
			}
			waitFor(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= g0 })
			waitFor(t, "fds back", func() bool { return openFDs(t) <= fd0 })
		})
	}
}

func hubClients(n *Node) int {
	for _, s := range n.InterfaceStats() {
		if s.Name == "hub" {
			return s.Clients
		}
	}
	return -1
}

func TestUpdateInterfaceReplacesAndRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("opens sockets; skipped with -short")
	}
	n, err := New(Options{DataDir: t.TempDir(), StatePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Close() }()
	if _, err := n.AddInterface("tcp-server://127.0.0.1:0?name=a"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddInterface("tcp-server://127.0.0.1:0?name=b"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.UpdateInterface("a", "tcp-server://127.0.0.1:0?name=b"); !errors.Is(err, ErrDuplicateInterface) {
		t.Fatalf("rename onto b: %v", err)
	}
	if _, err := n.UpdateInterface("zz", "tcp-server://127.0.0.1:0?name=zz"); !errors.Is(err, ErrNoInterface) {
		t.Fatalf("unknown: %v", err)
	}
	busy := n.ListenAddr("b").String()
	if _, err := n.UpdateInterface("a", "tcp-server://"+busy+"?name=a"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("port of b: %v", err)
	}
	if _, ok := n.Interface("a"); !ok || n.ListenAddr("a") == nil {
		t.Fatal("a not restored after a failed update")
	}
	if _, err := n.UpdateInterface("a", "tcp-server://127.0.0.1:0?name=a2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Interface("a"); ok {
		t.Fatal("old name still present")
	}
	if n.ListenAddr("a2") == nil {
		t.Fatal("renamed interface not listening")
	}
}
