package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	lxapp "github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestPropPythonNode: a Python LXMF propagation node (transport on, TCP
// server) with Reticle and a Python client attached. Reticle discovers the
// node from its announce, uploads a propagated message for the Python
// client (state sent), which syncs and receives it with a valid signature;
// the Python client uploads one for Reticle, which syncs and stores it.
func TestPropPythonNode(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	pn, pnReady := startPropPeer(t, "pypn", true, serverSection(port), true)
	_ = pn
	pnAddr := pnReady.str("propagation")
	waitTCP(t, port)
	rt := startPropNode(t, "reticle", false, lxapp.PropagationOptions{}, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	py, ready := startPropPeer(t, "pyclient", false, clientSection(port), false)
	pyAddr := ready.str("address")
	ctx := context.Background()
	me := rt.app.Identity(ctx)

	exchangeAnnounces(t, rt, py, pyAddr)
	waitKnownNode(t, rt, pn, pnAddr)
	if err := rt.app.SetPropagationNode(ctx, pnAddr); err != nil {
		t.Fatal(err)
	}
	py.send(map[string]any{"cmd": "set_node", "node": pnAddr})

	t.Run("reticle to python via python node", func(t *testing.T) {
		m, err := rt.app.Send(ctx, lxapp.SendRequest{To: pyAddr, Title: "propagated", Content: "stored and forwarded by lxmf", Method: lxapp.MethodPropagated})
		if err != nil {
			t.Fatal(err)
		}
		final := waitFinal(t, rt, m.ID, 90*time.Second)
		if final.State != store.StateSent || final.Method != lxapp.MethodPropagated {
			t.Fatalf("reticle state %+v", final)
		}
		if final.Attempts > 1 {
			t.Logf("RETRY: uploaded after %d attempts", final.Attempts)
		}
		got := syncPython(t, py, m.ID)
		if got["signature_validated"] != true || got.str("content") != "stored and forwarded by lxmf" || got.str("source") != me.Address || got.num("method") != 3 {
			t.Fatalf("python got %v", got)
		}
	})

	t.Run("python to reticle via python node", func(t *testing.T) {
		var id string
		for attempt := 1; attempt <= maxAttempts && id == ""; attempt++ {
			py.send(map[string]any{"cmd": "send", "to": me.Address, "title": "from py", "content": "propagated from python", "id": attempt})
			q := py.wait(30*time.Second, func(e event) bool {
				return (e.str("event") == "send_queued" || e.str("event") == "error") && e.num("id") == attempt
			})
			if q == nil || q.str("event") == "error" {
				t.Logf("RETRY: python send: %v (attempt %d)", q, attempt)
				continue
			}
			st := py.wait(60*time.Second, func(e event) bool { return isEvent("send_state", "hash", q.str("hash"))(e) && e.str("state") == "sent" })
			if st == nil {
				t.Logf("RETRY: python upload not confirmed (attempt %d)", attempt)
				continue
			}
			id = q.str("hash")
		}
		if id == "" {
			t.Fatal("python never uploaded")
		}
		in := syncReticle(t, rt, id)
		if in.Direction != "in" || !in.Verified || in.Peer != pyAddr || in.Content != "propagated from python" || in.Method != lxapp.MethodPropagated {
			t.Fatalf("reticle stored %+v", in)
		}
	})
}

// TestPropReticleNode: Reticle hosts the propagation node (transport on,
// TCP server); two Python clients attached. One uploads a propagated
// message for the other, Reticle stores it, the other syncs it from
// Reticle and Reticle deletes it; an upload for Reticle's own address is
// delivered to Reticle.
func TestPropReticleNode(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	rt := startPropNode(t, "reticle", true, lxapp.PropagationOptions{Serve: true, StampCost: 13, StorageLimit: 4 << 20},
		fmt.Sprintf("tcp-server://127.0.0.1:%d", port))
	ctx := context.Background()
	pnAddr, ok := rt.app.PropagationServerAddress()
	if !ok {
		t.Fatal("reticle hosts no node")
	}
	pa, readyA := startPropPeer(t, "pyalice", false, clientSection(port), false)
	pb, readyB := startPropPeer(t, "pybob", false, clientSection(port), false)
	aAddr, bAddr := readyA.str("address"), readyB.str("address")
	me := rt.app.Identity(ctx)

	// The clients learn each other (through Reticle's transport) and the node.
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		pa.send(map[string]any{"cmd": "announce"})
		pb.send(map[string]any{"cmd": "announce"})
		if err := rt.app.AnnouncePropagation(); err != nil {
			t.Logf("RETRY: announce node: %v", err)
		}
		_ = rt.app.Announce(ctx)
		if attempt > 1 {
			// Announces are rebroadcast by Reticle's transport; a path
			// request also gets an answer from its path table.
			pa.send(map[string]any{"cmd": "request_path", "dest": bAddr})
			pb.send(map[string]any{"cmd": "request_path", "dest": aAddr})
		}
		okA := pa.wait(8*time.Second, isEvent("announce", "dest", bAddr)) != nil
		okB := pb.wait(8*time.Second, isEvent("announce", "dest", aAddr)) != nil
		okN := pa.wait(4*time.Second, isEvent("pn_announce", "dest", pnAddr)) != nil && pb.wait(4*time.Second, isEvent("pn_announce", "dest", pnAddr)) != nil
		if okA && okB && okN {
			break
		}
		t.Logf("RETRY: announces a<-b %v b<-a %v node %v (attempt %d)", okA, okB, okN, attempt)
	}
	if e := pa.wait(time.Second, isEvent("pn_announce", "dest", pnAddr)); e == nil || e["valid"] != true {
		t.Fatalf("python's view of reticle's node announce: %v", e)
	}
	pa.send(map[string]any{"cmd": "set_node", "node": pnAddr})
	pb.send(map[string]any{"cmd": "set_node", "node": pnAddr})

	t.Run("python to python via reticle node", func(t *testing.T) {
		id := pythonUpload(t, pa, bAddr, "kept by reticle")
		// The link layer proves an upload packet as it arrives, just before
		// the node stores it: poll (bounded) rather than race the store.
		var count, size int64
		var err error
		for end := time.Now().Add(10 * time.Second); count == 0 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			count, size, err = rt.st.PropagationUsage(ctx)
		}
		if err != nil || count != 1 {
			t.Fatalf("reticle holds %d messages (%d bytes), %v", count, size, err)
		}
		got := syncPython(t, pb, id)
		if got["signature_validated"] != true || got.str("content") != "kept by reticle" || got.str("source") != aAddr || got.num("method") != 3 {
			t.Fatalf("python got %v", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for count > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			count, _, _ = rt.st.PropagationUsage(ctx)
		}
		if count != 0 {
			t.Fatalf("reticle still holds %d messages after the sync", count)
		}
	})

	t.Run("python to reticle itself", func(t *testing.T) {
		id := pythonUpload(t, pa, me.Address, "for the node's own inbox")
		in, ok := rt.waitMessage(t, id, 10*time.Second)
		if !ok || !in.Verified || in.Method != lxapp.MethodPropagated || in.Content != "for the node's own inbox" {
			t.Fatalf("reticle stored %+v (%v)", in, ok)
		}
	})
}

// pythonUpload sends a propagated message from py until its node accepted
// it (bounded, RETRY logged) and returns its hash.
func pythonUpload(t *testing.T, py *proc, to, content string) string {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		n := py.count()
		py.send(map[string]any{"cmd": "send", "to": to, "content": content, "id": n})
		q := py.waitAfter(n, 30*time.Second, func(e event) bool {
			return (e.str("event") == "send_queued" || e.str("event") == "error") && e.num("id") == n
		})
		if q == nil || q.str("event") == "error" {
			t.Logf("RETRY: python send: %v (attempt %d)", q, attempt)
			continue
		}
		st := py.waitAfter(n, 60*time.Second, func(e event) bool { return isEvent("send_state", "hash", q.str("hash"))(e) })
		if st != nil && st.str("state") == "sent" {
			return q.str("hash")
		}
		t.Logf("RETRY: python upload state %v (attempt %d)", st, attempt)
	}
	t.Fatal("python never uploaded")
	return ""
}

// waitFinal polls an outbound message until it is sent, delivered or
// failed (propagated messages end at sent).
func waitFinal(t *testing.T, n *lxmfNode, id string, timeout time.Duration) lxapp.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m, ok := n.message(t, id)
		if ok && (m.State == store.StateSent || m.State == store.StateDelivered || m.State == store.StateFailed) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPropPeeringToPython: Reticle hosts a propagation node peered with a
// Python propagation node. A Python client uploads to Reticle's node for
// another Python client; Reticle offers it to the Python node (/offer with
// a peering key, then a resource), and the recipient syncs it from the
// Python node.
func TestPropPeeringToPython(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	pn, pnReady := startPropPeer(t, "pypn", true, serverSection(port), true)
	pnAddr := pnReady.str("propagation")
	waitTCP(t, port)
	rt := startPropNode(t, "reticle", false, lxapp.PropagationOptions{Serve: true, StampCost: 13, Peers: []string{pnAddr}, PeerInterval: time.Hour},
		fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	rtPN, _ := rt.app.PropagationServerAddress()
	pa, readyA := startPropPeer(t, "pyalice", false, clientSection(port), false)
	pc, readyC := startPropPeer(t, "pycarol", false, clientSection(port), false)
	cAddr := readyC.str("address")
	ctx := context.Background()

	waitKnownNode(t, rt, pn, pnAddr)
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		pc.send(map[string]any{"cmd": "announce"})
		pa.send(map[string]any{"cmd": "announce"})
		if err := rt.app.AnnouncePropagation(); err != nil {
			t.Logf("RETRY: announce node: %v", err)
		}
		okC := pa.wait(8*time.Second, isEvent("announce", "dest", cAddr)) != nil
		okN := pa.wait(4*time.Second, isEvent("pn_announce", "dest", rtPN)) != nil
		okA := pc.wait(4*time.Second, isEvent("announce", "dest", readyA.str("address"))) != nil
		if okC && okN && okA {
			break
		}
		t.Logf("RETRY: announces alice<-carol %v alice<-reticle node %v carol<-alice %v (attempt %d)", okC, okN, okA, attempt)
		pa.send(map[string]any{"cmd": "request_path", "dest": cAddr})
	}
	pa.send(map[string]any{"cmd": "set_node", "node": rtPN})
	pc.send(map[string]any{"cmd": "set_node", "node": pnAddr})

	id := pythonUpload(t, pa, cAddr, "peered from reticle to lxmd")
	var count int64
	for end := time.Now().Add(10 * time.Second); count == 0 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		count, _, _ = rt.st.PropagationUsage(ctx)
	}
	if count != 1 {
		t.Fatalf("reticle holds %d messages", count)
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err = rt.app.SyncPropagationPeers(ctx); err == nil {
			break
		}
		t.Logf("RETRY: peer sync: %v (attempt %d)", err, attempt)
		time.Sleep(time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	got := syncPython(t, pc, id)
	if got["signature_validated"] != true || got.str("content") != "peered from reticle to lxmd" || got.num("method") != 3 {
		t.Fatalf("carol got %v", got)
	}
}

// TestPropReticleNodeHeardAtStart: a Python LXMF client is already on the mesh when a Reticle node that
// hosts a propagation node starts, configured as `reticle serve` configures it (announce at start);
// nobody asks for an announce, yet the client hears both the node and Reticle's delivery destination
// within 10 s of the start (the announces at start and when the interface comes up, whichever of the
// two the connection's timing leaves to be heard), with valid propagation node app data.
func TestPropReticleNodeHeardAtStart(t *testing.T) {
	requireLXMF(t)
	port := freePort(t)
	py, _ := startPropPeer(t, "pywatcher", false, serverSection(port), false)
	start := time.Now()
	rt := startPropNodeWith(t, "reticle", false, lxapp.Options{AnnounceAtStart: true,
		Propagation: lxapp.PropagationOptions{Serve: true, StampCost: 13, StorageLimit: 1 << 20}},
		fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	pnAddr, ok := rt.app.PropagationServerAddress()
	if !ok {
		t.Fatal("reticle hosts no node")
	}
	me := rt.app.Identity(context.Background()).Address
	pn := py.wait(10*time.Second-time.Since(start), isEvent("pn_announce", "dest", pnAddr))
	if pn == nil || pn["valid"] != true {
		t.Fatalf("python did not hear reticle's propagation node within 10 s of start: %v", pn)
	}
	heardNode := time.Since(start)
	if e := py.wait(10*time.Second-time.Since(start), isEvent("announce", "dest", me)); e == nil {
		t.Fatal("python did not hear reticle's delivery destination within 10 s of start")
	}
	t.Logf("python heard the hosted node %v and the delivery destination %v after start", heardNode.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
