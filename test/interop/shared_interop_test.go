package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// instanceName returns a shared instance name no other program on the
// machine uses (never the reference's "default").
func instanceName(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("reticle-it-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000)
}

// runTool runs a reference tool (rnstatus, rnpath) bounded in time.
func runTool(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = 3 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSharedRnstatusOnReticle: Reticle offers a shared instance (abstract
// Unix socket and, in a second run, TCP on non-default ports); the stock
// rnstatus and rnpath attach to it as local programs and list Reticle's
// interfaces over the RPC endpoint.
func TestSharedRnstatusOnReticle(t *testing.T) {
	requirePython(t)
	for _, typ := range []string{"unix", "tcp"} {
		t.Run(typ, func(t *testing.T) {
			name := instanceName(t)
			shared := fmt.Sprintf("shared-instance://%s?role=server&type=%s&port=%d&control_port=%d", name, typ, freePort(t), freePort(t))
			r := startReticle(t, true, shared,
				"udp://127.0.0.1:0?forward=127.0.0.1:9&name=lan-udp",
				"auto://?group_id=reticle-it&devices=reticle-none0&name=lan-auto",
				fmt.Sprintf("tcp-server://127.0.0.1:%d?name=public", freePort(t)))
			cfg, ok, err := r.node.SharedClientConfig("shared-instance/" + name)
			if err != nil || !ok {
				t.Fatalf("client config: %v %v", ok, err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}

			var stats struct {
				Interfaces []struct {
					Name    string `json:"name"`
					Type    string `json:"type"`
					Status  bool   `json:"status"`
					Clients *int   `json:"clients"`
				} `json:"interfaces"`
				TransportID string `json:"transport_id"`
			}
			out := runTool(t, "rnstatus", "--config", dir, "-j")
			if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &stats); err != nil {
				t.Fatalf("rnstatus -j output %q: %v", out, err)
			}
			got := map[string]bool{}
			for _, i := range stats.Interfaces {
				got[i.Name] = i.Status
			}
			if up, ok := got["AutoInterface[lan-auto]"]; !ok || up {
				t.Errorf("auto interface without devices: listed %v, up %v", ok, up)
			}
			for _, want := range []string{"Shared Instance[shared-instance/" + name + "]", "UDPInterface[lan-udp]", "TCPServerInterface[public]"} {
				if !got[want] {
					t.Errorf("rnstatus lacks %q (up); got %v", want, got)
				}
			}
			if stats.TransportID != r.node.Transport().ID().String() {
				t.Errorf("transport id %q, want %s", stats.TransportID, r.node.Transport().ID())
			}
			// While rnstatus was attached it showed up as a local program.
			sawLocal := false
			for _, i := range stats.Interfaces {
				sawLocal = sawLocal || strings.HasPrefix(i.Name, "LocalInterface[") && i.Type == "LocalClientInterface"
			}
			if !sawLocal {
				t.Errorf("rnstatus's own connection not listed: %v", got)
			}

			text := runTool(t, "rnstatus", "--config", dir)
			for _, want := range []string{"Shared Instance[", "UDPInterface[lan-udp]", "Status    : Up", "Transport Instance",
				"AutoInterface[lan-auto]", "Peers     : 0 reachable"} {
				if !strings.Contains(text, want) {
					t.Errorf("rnstatus output lacks %q:\n%s", want, text)
				}
			}
			t.Logf("rnstatus against Reticle:\n%s", text)
			// Every display option reads keys the RPC answer must carry.
			full := runTool(t, "rnstatus", "--config", dir, "-a", "-A", "-P", "-l", "-t", "-p", "-q", "-s", "traffic")
			for _, want := range []string{"LocalInterface[shared-instance/" + name, "Totals", "Qu. Pressure", "Announces"} {
				if !strings.Contains(full, want) {
					t.Errorf("rnstatus -a -A -P -l -t -p -q lacks %q:\n%s", want, full)
				}
			}
			pt := runTool(t, "rnpath", "--config", dir, "-t")
			t.Logf("rnpath -t: %q", pt)
		})
	}
}

// waitShared waits until a reference shared instance accepts connections.
func waitShared(t *testing.T, spec iface.Spec) {
	t.Helper()
	network, addr := iface.SharedAddress(spec)
	for range 400 {
		c, err := net.DialTimeout(network, addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no shared instance at %s %s", network, addr)
}

// TestSharedReticleOnRnsd: a stock rnsd owns the shared instance (as on a
// machine where the user already runs it); Reticle attaches to it as a
// local program instead of fighting it for ports, and reaches a Python
// peer connected to rnsd over TCP: announces both ways and proven
// encrypted packets both ways.
func TestSharedReticleOnRnsd(t *testing.T) {
	requirePython(t)
	for _, typ := range []string{"unix", "tcp"} {
		t.Run(typ, func(t *testing.T) {
			name, port := instanceName(t), freePort(t)
			sport, cport := freePort(t), freePort(t)
			dir := t.TempDir()
			cfg := fmt.Sprintf(`[reticulum]
  enable_transport = No
  share_instance = Yes
  instance_name = %s
  shared_instance_type = %s
  shared_instance_port = %d
  instance_control_port = %d
  panic_on_interface_error = No

[logging]
  loglevel = 5

[interfaces]
%s`, name, typ, sport, cport, serverSection(port))
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			startProc(t, "rnsd", "rnsd", "--config", dir, "-v")
			spec, err := iface.Parse(fmt.Sprintf("shared-instance://%s?role=client&type=%s&port=%d&control_port=%d", name, typ, sport, cport))
			if err != nil {
				t.Fatal(err)
			}
			waitShared(t, spec)
			waitTCP(t, port)
			peer, ready := startPeer(t, "pyleaf", false, clientSection(port))
			peerDest := mustHash(t, ready.str("dest"))

			r := startReticle(t, false, spec.String())
			r.waitUp(t)
			if !iface.IsSharedUpstream(r.node.Interfaces()[0]) {
				t.Fatal("Reticle did not attach as a client")
			}

			ev := announceUntilSeen(t, r, peer)
			t.Logf("peer saw Reticle announce at %d hops", ev.num("hops"))
			pi := peerAnnounceUntilLearned(t, r, peer, peerDest)
			t.Logf("Reticle path to peer: %+v", pi)
			reticleSendUntilProven(t, r, peer, peerDest, []byte("reticle via shared rnsd"))
			peerSendUntilProven(t, peer, r.dest.Hash(), []byte("python via shared rnsd"), r.received([]byte("python via shared rnsd")))
		})
	}
}

// TestSharedPythonProgramOnReticle: a Python program (rnspeer, as NomadNet
// or Sideband would be) attaches to Reticle's shared instance and talks both
// to a destination on Reticle itself and, through Reticle (transport mode),
// to a Python peer connected to Reticle over TCP.
func TestSharedPythonProgramOnReticle(t *testing.T) {
	requirePython(t)
	name, port := instanceName(t), freePort(t)
	r := startReticle(t, true, fmt.Sprintf("shared-instance://%s?role=server", name),
		fmt.Sprintf("tcp-server://127.0.0.1:%d?name=public", port))
	cfg, ok, err := r.node.SharedClientConfig("shared-instance/" + name)
	if err != nil || !ok {
		t.Fatalf("client config: %v %v", ok, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	local := startProc(t, "pylocal", "python3", "rnspeer.py", dir, app, aspect)
	lready := local.wait(20*time.Second, isEvent("ready"))
	if lready == nil {
		t.Fatal("local program did not start")
	}
	localDest := mustHash(t, lready.str("dest"))
	remote, rready := startPeer(t, "pyremote", false, clientSection(port))
	remoteDest := mustHash(t, rready.str("dest"))

	// The local program and Reticle's own destination.
	announceUntilSeen(t, r, local)
	peerAnnounceUntilLearned(t, r, local, localDest)
	reticleSendUntilProven(t, r, local, localDest, []byte("reticle to local program"))
	peerSendUntilProven(t, local, r.dest.Hash(), []byte("local program to reticle"), r.received([]byte("local program to reticle")))

	// The local program and a remote peer, through Reticle.
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		local.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte("pylocal"))})
		if ev := remote.wait(10*time.Second, isEvent("announce", "dest", localDest.String())); ev != nil {
			t.Logf("remote saw the local program at %d hops", ev.num("hops"))
			break
		}
		if attempt == maxAttempts {
			t.Fatal("remote never saw the local program's announce")
		}
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		remote.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte("pyremote"))})
		if ev := local.wait(10*time.Second, isEvent("announce", "dest", remoteDest.String())); ev != nil {
			t.Logf("local program saw the remote at %d hops", ev.num("hops"))
			break
		}
		if attempt == maxAttempts {
			t.Fatal("local program never saw the remote's announce")
		}
	}
	arrivedAt := func(p *proc, payload []byte) func() bool {
		return func() bool { return p.wait(3*time.Second, isEvent("packet", "data", hexs(payload))) != nil }
	}
	peerSendUntilProven(t, local, remoteDest, []byte("local to remote"), arrivedAt(remote, []byte("local to remote")))
	peerSendUntilProven(t, remote, localDest, []byte("remote to local"), arrivedAt(local, []byte("remote to local")))

	// rnpath, attached to Reticle, resolves the remote peer by a path
	// request that Reticle answers, then asks Reticle for the next hop over
	// RPC; "rnpath -t" lists Reticle's path table.
	out := runTool(t, "rnpath", "--config", dir, "-w", "15", remoteDest.String())
	if !strings.Contains(out, "Path found") || !strings.Contains(out, "TCPInterface[Client on public/") {
		t.Errorf("rnpath output:\n%s", out)
	}
	table := runTool(t, "rnpath", "--config", dir, "-t")
	if !strings.Contains(table, "<"+remoteDest.String()+">") {
		t.Errorf("rnpath -t lacks %s:\n%s", remoteDest, table)
	}
	t.Logf("rnpath against Reticle:\n%s%s", out, table)
}
