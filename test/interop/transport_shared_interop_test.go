package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// TestTransportSharedNonTransportServing: a Python program attached to a
// Reticle shared instance whose transport is OFF still reaches a remote
// Python peer connected to Reticle over TCP, as with a stock rnsd
// (enable_transport = No, share_instance = Yes): the program's announce is
// rebroadcast once at once, the remote's announce is copied to the program
// at once, packets and proofs cross both ways, and the program's path
// request (rnpath) is forwarded by Reticle and its answer passed back.
func TestTransportSharedNonTransportServing(t *testing.T) {
	requirePython(t)
	name, port := instanceName(t), freePort(t)
	r := startReticle(t, false, fmt.Sprintf("shared-instance://%s?role=server", name),
		fmt.Sprintf("tcp-server://127.0.0.1:%d?name=public", port))
	if r.node.Transport().IsTransport() {
		t.Fatal("transport unexpectedly on")
	}
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

	// rnpath first, before any announce: the program's path request for
	// the remote is forwarded by Reticle, the remote answers, and the path
	// response is passed back to the program.
	out := runTool(t, "rnpath", "--config", dir, "-w", "15", remoteDest.String())
	if !strings.Contains(out, "Path found") {
		t.Errorf("rnpath through a non-transport Reticle:\n%s", out)
	}

	for attempt := 1; attempt <= maxAttempts; attempt++ {
		local.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte("pylocal"))})
		if ev := remote.wait(10*time.Second, isEvent("announce", "dest", localDest.String())); ev != nil {
			t.Logf("remote saw the local program at %d hops", ev.num("hops"))
			if ev.num("hops") != 1 {
				t.Errorf("remote sees the local program at %d hops, want 1", ev.num("hops"))
			}
			break
		}
		if attempt == maxAttempts {
			t.Fatal("remote never saw the local program's announce")
		}
	}
	if pi, ok := r.node.Transport().Path(localDest); !ok || pi.Hops != 0 {
		t.Errorf("Reticle path to the local program %+v %v, want 0 hops", pi, ok)
	}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		remote.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte("pyremote"))})
		if ev := local.wait(10*time.Second, func(e event) bool {
			return isEvent("announce", "dest", remoteDest.String())(e) && e["path_response"] != true
		}); ev != nil {
			t.Logf("local program saw the remote at %d hops", ev.num("hops"))
			if ev.num("hops") != 1 {
				t.Errorf("local program sees the remote at %d hops, want 1", ev.num("hops"))
			}
			break
		}
		if attempt == maxAttempts {
			t.Fatal("local program never saw the remote's announce")
		}
	}
	arrivedAt := func(p *proc, payload []byte) func() bool {
		return func() bool { return p.wait(3*time.Second, isEvent("packet", "data", hexs(payload))) != nil }
	}
	peerSendUntilProven(t, local, remoteDest, []byte("local to remote, no transport"), arrivedAt(remote, []byte("local to remote, no transport")))
	peerSendUntilProven(t, remote, localDest, []byte("remote to local, no transport"), arrivedAt(local, []byte("remote to local, no transport")))

	// Reticle's own destination still works for both.
	announceUntilSeen(t, r, local)
	peerSendUntilProven(t, local, r.dest.Hash(), []byte("local to reticle"), r.received([]byte("local to reticle")))
}

// TestTransportSharedAttachedHops: Reticle attached to a stock rnsd
// shared instance sees a peer one hop behind rnsd at 1 hop (the hop to the
// instance is not counted) and reaches it by inserting the packet into
// transport with rnsd as next hop.
func TestTransportSharedAttachedHops(t *testing.T) {
	requirePython(t)
	name, port := instanceName(t), freePort(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[reticulum]
  enable_transport = No
  share_instance = Yes
  instance_name = %s
  panic_on_interface_error = No

[logging]
  loglevel = 5

[interfaces]
%s`, name, serverSection(port))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startProc(t, "rnsd", "rnsd", "--config", dir, "-v")
	spec, err := iface.Parse(fmt.Sprintf("shared-instance://%s?role=client", name))
	if err != nil {
		t.Fatal(err)
	}
	waitShared(t, spec)
	waitTCP(t, port)
	peer, ready := startPeer(t, "pyleaf", false, clientSection(port))
	peerDest := mustHash(t, ready.str("dest"))

	r := startReticle(t, false, spec.String())
	r.waitUp(t)
	if !r.node.Transport().AttachedToSharedInstance() {
		t.Fatal("Reticle did not attach as a client")
	}
	ev := announceUntilSeen(t, r, peer)
	if ev.num("hops") != 1 {
		t.Errorf("peer sees Reticle at %d hops, want 1", ev.num("hops"))
	}
	pi := peerAnnounceUntilLearned(t, r, peer, peerDest)
	if pi.Hops != 1 {
		t.Errorf("Reticle sees the peer at %d hops, want 1 (hop to the instance not counted)", pi.Hops)
	}
	reticleSendUntilProven(t, r, peer, peerDest, []byte("attached, one hop"))
	peerSendUntilProven(t, peer, r.dest.Hash(), []byte("to attached reticle"), r.received([]byte("to attached reticle")))
}
