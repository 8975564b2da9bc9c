package interop

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// AutoInterface between full nodes in two network namespaces joined by a
// veth pair: Reticle with Reticle, and Reticle with the Python reference.
// A Reticle node inside a namespace is this test binary re-executed under
// "ip netns exec" in helper mode (TestAutoNodeHelper); it speaks the same
// JSON-lines protocol as rnspeer.py (commands announce and send; events
// ready, announce, packet, receipt), so both kinds of peer are driven alike.

const autoNodeEnv = "RETICLE_AUTO_NODE"

// TestAutoNodeHelper is the helper process; it does nothing in a normal
// test run.
func TestAutoNodeHelper(t *testing.T) {
	if os.Getenv(autoNodeEnv) != "1" {
		t.Skip("helper process for the AutoInterface netns tests")
	}
	var outMu sync.Mutex
	emit := func(ev map[string]any) {
		b, _ := json.Marshal(ev)
		outMu.Lock()
		_, _ = fmt.Fprintf(os.Stdout, "%s\n", b)
		outMu.Unlock()
	}
	node, err := rns.New(rns.Options{DataDir: t.TempDir(), Interfaces: []string{os.Getenv("RETICLE_AUTO_URI")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = node.Close() }()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dest, err := node.RegisterDestination(transport.DestinationConfig{
		Identity: id, App: app, Aspects: []string{aspect}, Proof: transport.ProveAll,
		OnPacket: func(d transport.Delivery) {
			emit(map[string]any{"event": "packet", "data": hex.EncodeToString(d.Data), "hops": d.Hops})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	node.Transport().HandleAnnounces("", true, func(a transport.Announce) {
		emit(map[string]any{"event": "announce", "dest": a.Destination.String(), "hops": a.Hops,
			"app_data": hex.EncodeToString(a.AppData), "path_response": a.PathResponse})
	})
	emit(map[string]any{"event": "ready", "dest": dest.Hash().String(), "identity": id.Hash().String()})
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var cmd map[string]any
		if json.Unmarshal(sc.Bytes(), &cmd) != nil {
			continue
		}
		switch cmd["cmd"] {
		case "announce":
			ad, _ := hex.DecodeString(fmt.Sprint(cmd["app_data"]))
			if err := node.Announce(dest, ad); err != nil {
				emit(map[string]any{"event": "error", "error": err.Error()})
			}
		case "send":
			rid := cmd["id"]
			h, err := wire.ParseHash(fmt.Sprint(cmd["dest"]))
			data, derr := hex.DecodeString(fmt.Sprint(cmd["data"]))
			if err != nil || derr != nil {
				emit(map[string]any{"event": "error", "id": rid, "error": "bad send command"})
				continue
			}
			rc, err := node.Send(h, data, transport.SendOptions{})
			if err != nil {
				emit(map[string]any{"event": "error", "id": rid, "error": err.Error()})
				continue
			}
			go func() {
				select {
				case <-rc.Done():
				case <-time.After(15 * time.Second):
				}
				status := "failed"
				if rc.Status() == transport.ReceiptDelivered {
					status = "delivered"
				}
				emit(map[string]any{"event": "receipt", "id": rid, "status": status, "rtt": rc.RTT().Seconds()})
			}()
		case "quit":
			return
		}
	}
}

func runCmd(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsPair creates two namespaces joined by a veth pair with IPv6
// link-local addresses, or skips the test saying why (not Linux, not root,
// no iproute2, or the kernel refuses). Everything is deleted in t.Cleanup.
func netnsPair(t *testing.T, tag string) (nsA, nsB, devA, devB string) {
	t.Helper()
	if testing.Short() {
		t.Skip("netns tests skipped with -short")
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("AutoInterface netns test needs Linux and root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed")
	}
	id := os.Getpid() % 1_000_000
	nsA, nsB = fmt.Sprintf("reticle-%s%d-a", tag, id), fmt.Sprintf("reticle-%s%d-b", tag, id)
	devA, devB = fmt.Sprintf("rt%s%da", tag, id), fmt.Sprintf("rt%s%db", tag, id)
	for _, ns := range []string{nsA, nsB} {
		if err := runCmd("ip", "netns", "add", ns); err != nil {
			t.Skipf("kernel refused a network namespace: %v", err)
		}
		t.Cleanup(func() {
			if err := runCmd("ip", "netns", "del", ns); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	for _, s := range [][]string{
		{"ip", "link", "add", devA, "type", "veth", "peer", "name", devB},
		{"ip", "link", "set", devA, "netns", nsA},
		{"ip", "link", "set", devB, "netns", nsB},
		{"ip", "netns", "exec", nsA, "sysctl", "-qw", "net.ipv6.conf." + devA + ".accept_dad=0"},
		{"ip", "netns", "exec", nsB, "sysctl", "-qw", "net.ipv6.conf." + devB + ".accept_dad=0"},
		{"ip", "-n", nsA, "link", "set", devA, "up"},
		{"ip", "-n", nsB, "link", "set", devB, "up"},
		{"ip", "-n", nsA, "link", "set", "lo", "up"},
		{"ip", "-n", nsB, "link", "set", "lo", "up"},
	} {
		if err := runCmd(s...); err != nil {
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

// startAutoNode starts a Reticle node with an AutoInterface inside ns.
func startAutoNode(t *testing.T, name, ns, dev, group string) (*proc, event) {
	t.Helper()
	t.Setenv(autoNodeEnv, "1")
	t.Setenv("RETICLE_AUTO_URI", fmt.Sprintf("auto://?group_id=%s&devices=%s", group, dev))
	p := startProc(t, name, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestAutoNodeHelper$")
	ready := p.wait(20*time.Second, isEvent("ready"))
	if ready == nil {
		t.Fatalf("%s did not start", name)
	}
	return p, ready
}

// startAutoPython starts rnspeer.py with the reference AutoInterface
// inside ns.
func startAutoPython(t *testing.T, name, ns, dev, group string) (*proc, event) {
	t.Helper()
	section := fmt.Sprintf("  [[Auto]]\n    type = AutoInterface\n    enabled = yes\n    group_id = %s\n    devices = %s\n", group, dev)
	dir := writeConfig(t, false, section)
	script, err := filepath.Abs("rnspeer.py")
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, name, "ip", "netns", "exec", ns, "python3", script, dir, app, aspect)
	ready := p.wait(30*time.Second, isEvent("ready"))
	if ready == nil {
		t.Fatalf("%s did not start", name)
	}
	return p, ready
}

// announceSeen makes from announce until to reports the announce.
func announceSeen(t *testing.T, from, to *proc, dest string) event {
	t.Helper()
	for attempt := 1; attempt <= 6; attempt++ {
		from.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte(from.name))})
		if ev := to.wait(5*time.Second, isEvent("announce", "dest", dest)); ev != nil {
			t.Logf("%s saw %s's announce (attempt %d, hops %d)", to.name, from.name, attempt, ev.num("hops"))
			return ev
		}
		t.Logf("RETRY: %s did not see %s's announce yet (attempt %d)", to.name, from.name, attempt)
	}
	t.Fatalf("%s never saw %s's announce", to.name, from.name)
	return nil
}

// sendProven sends from one process to the other until proven and seen.
func sendProven(t *testing.T, from, to *proc, dest string, payload []byte) {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		sendID++
		id := sendID
		from.send(map[string]any{"cmd": "send", "dest": dest, "data": hexs(payload), "id": id, "timeout": 10, "app": app, "aspect": aspect})
		ev := from.wait(20*time.Second, func(e event) bool {
			return (e.str("event") == "receipt" || e.str("event") == "error") && e.num("id") == id
		})
		got := to.wait(3*time.Second, isEvent("packet", "data", hexs(payload))) != nil
		if ev != nil && ev.str("status") == "delivered" && got {
			t.Logf("%s -> %s proven (attempt %d)", from.name, to.name, attempt)
			return
		}
		t.Logf("RETRY: %s -> %s: %v, arrived %v (attempt %d)", from.name, to.name, ev, got, attempt)
	}
	t.Fatalf("%s -> %s never proven", from.name, to.name)
}

func exchange(t *testing.T, a, b *proc, aDest, bDest string) {
	t.Helper()
	if ev := announceSeen(t, a, b, aDest); ev.num("hops") != 1 {
		t.Fatalf("%s saw %s at %d hops, want 1", b.name, a.name, ev.num("hops"))
	}
	if ev := announceSeen(t, b, a, bDest); ev.num("hops") != 1 {
		t.Fatalf("%s saw %s at %d hops, want 1", a.name, b.name, ev.num("hops"))
	}
	sendProven(t, a, b, bDest, []byte("over auto from "+a.name))
	sendProven(t, b, a, aDest, []byte("over auto from "+b.name))
}

// TestAutoNetnsReticlePair: two Reticle nodes, one per namespace, discover
// each other with auto:// and exchange announces and proven packets.
func TestAutoNetnsReticlePair(t *testing.T) {
	nsA, nsB, devA, devB := netnsPair(t, "r")
	group := fmt.Sprintf("reticle-it-%d", time.Now().UnixNano()%1_000_000_000)
	a, ra := startAutoNode(t, "reticle-a", nsA, devA, group)
	b, rb := startAutoNode(t, "reticle-b", nsB, devB, group)
	exchange(t, a, b, ra.str("dest"), rb.str("dest"))
}

// TestAutoNetnsPython: a Reticle node and the Python reference, one per
// namespace, discover each other with AutoInterface (same group id) and
// exchange announces and proven packets.
func TestAutoNetnsPython(t *testing.T) {
	requirePython(t)
	nsA, nsB, devA, devB := netnsPair(t, "p")
	group := fmt.Sprintf("reticle-it-%d", time.Now().UnixNano()%1_000_000_000)
	a, ra := startAutoNode(t, "reticle", nsA, devA, group)
	b, rb := startAutoPython(t, "pyauto", nsB, devB, group)
	exchange(t, a, b, ra.str("dest"), rb.str("dest"))
}
