package interop

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// maxAttempts bounds retries of steps where the reference is known to drop
// a packet now and then (for example a proof in a burst). Every retry is
// logged so flakiness can be told apart from a bug.
const maxAttempts = 3

type reticle struct {
	node *rns.Node
	dest *transport.Destination
	rx   chan transport.Delivery
}

func startReticle(t *testing.T, transportMode bool, uris ...string) *reticle {
	t.Helper()
	node, err := rns.New(rns.Options{
		DataDir: t.TempDir(), Interfaces: uris, Transport: transportMode,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second,
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	r := &reticle{node: node, rx: make(chan transport.Delivery, 16)}
	r.dest, err = node.RegisterDestination(transport.DestinationConfig{
		Identity: id, App: app, Aspects: []string{aspect}, Proof: transport.ProveAll,
		OnPacket: func(d transport.Delivery) { r.rx <- d },
		AppData:  func() []byte { return []byte("reticle") },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *reticle) waitUp(t *testing.T) {
	t.Helper()
	for range 200 {
		if r.node.InterfaceStats()[0].State == "up" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("reticle interface did not come up")
}

// announceUntilSeen announces the Reticle destination until the peer's
// reference validates it; returns the peer's announce event.
func announceUntilSeen(t *testing.T, r *reticle, peer *proc) event {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err := r.node.Announce(r.dest, nil); err != nil {
			t.Fatal(err)
		}
		if ev := peer.wait(8*time.Second, isEvent("announce", "dest", r.dest.Hash().String())); ev != nil {
			t.Logf("%s validated Reticle announce (attempt %d, hops %d)", peer.name, attempt, ev.num("hops"))
			return ev
		}
		t.Logf("RETRY: %s did not see Reticle announce (attempt %d)", peer.name, attempt)
	}
	t.Fatalf("%s never validated the Reticle announce", peer.name)
	return nil
}

// peerAnnounceUntilLearned makes the peer announce until Reticle has a path.
func peerAnnounceUntilLearned(t *testing.T, r *reticle, peer *proc, dest wire.Hash) transport.PathInfo {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		peer.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte(peer.name))})
		for range 160 {
			if pi, ok := r.node.Transport().Path(dest); ok {
				t.Logf("Reticle learned path to %s (attempt %d): hops %d via %s", peer.name, attempt, pi.Hops, pi.NextHop)
				return pi
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("RETRY: Reticle did not learn a path to %s (attempt %d)", peer.name, attempt)
	}
	t.Fatalf("Reticle never learned a path to %s", peer.name)
	return transport.PathInfo{}
}

var sendID int

// peerSendUntilProven sends from a Python peer to dest (app/aspect) until
// the reference reports the receipt delivered; check verifies the arrival.
func peerSendUntilProven(t *testing.T, from *proc, dest wire.Hash, payload []byte, arrived func() bool) int {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		sendID++
		id := sendID
		from.send(map[string]any{"cmd": "send", "dest": dest.String(), "data": hexs(payload), "id": id,
			"timeout": 10, "app": app, "aspect": aspect})
		ev := from.wait(15*time.Second, func(e event) bool {
			return (e.str("event") == "receipt" || e.str("event") == "error") && e.num("id") == id
		})
		got := arrived()
		switch {
		case ev != nil && ev.str("status") == "delivered" && got:
			t.Logf("%s -> %s proven (attempt %d, rtt %.3fs)", from.name, dest, attempt, ev["rtt"])
			return attempt
		case ev == nil:
			t.Logf("RETRY: %s send %d: no receipt event (arrived=%v, attempt %d)", from.name, id, got, attempt)
		default:
			t.Logf("RETRY: %s send %d: %v (arrived=%v, attempt %d)", from.name, id, ev, got, attempt)
		}
	}
	t.Fatalf("%s -> %s never proven", from.name, dest)
	return 0
}

// reticleSendUntilProven sends from Reticle to a Python peer until the proof
// turns the receipt delivered and the peer saw the payload.
func reticleSendUntilProven(t *testing.T, r *reticle, to *proc, dest wire.Hash, payload []byte) int {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		rc, err := r.node.Send(dest, payload, transport.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-rc.Done():
		case <-time.After(20 * time.Second):
		}
		pkt := to.wait(2*time.Second, isEvent("packet", "data", hexs(payload)))
		if rc.Status() == transport.ReceiptDelivered && pkt != nil {
			t.Logf("Reticle -> %s proven (attempt %d, rtt %v, peer saw hops %d)", to.name, attempt, rc.RTT(), pkt.num("hops"))
			return attempt
		}
		t.Logf("RETRY: Reticle -> %s: receipt %v, peer packet seen %v (attempt %d)", to.name, rc.Status(), pkt != nil, attempt)
	}
	t.Fatalf("Reticle -> %s never proven", to.name)
	return 0
}

func (r *reticle) received(payload []byte) func() bool {
	return func() bool {
		deadline := time.After(3 * time.Second)
		for {
			select {
			case d := <-r.rx:
				if bytes.Equal(d.Data, payload) {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
}

// TestInteropDirect: Reticle (local node, TCP client) <-> Python reference
// leaf (TCP server). The leaf announces a ratchet and enforces it, so the
// packet Reticle sends must be encrypted to the announced ratchet.
func TestInteropDirect(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	peer, ready := startPeer(t, "pyleaf", false, serverSection(port), "--ratchets")
	peerDest := mustHash(t, ready.str("dest"))
	r := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	r.waitUp(t)

	// A path request for a registered, not yet announced Reticle
	// destination is answered by Reticle with a path response.
	var pr event
	for attempt := 1; attempt <= maxAttempts && pr == nil; attempt++ {
		peer.send(map[string]any{"cmd": "request_path", "dest": r.dest.Hash().String()})
		pr = peer.wait(8*time.Second, isEvent("announce", "dest", r.dest.Hash().String()))
		if pr == nil {
			t.Logf("RETRY: no path response (attempt %d)", attempt)
		}
	}
	if pr == nil || pr["path_response"] != true || pr.num("hops") != 1 || pr.str("app_data") != hexs([]byte("reticle")) {
		t.Fatalf("path response event %v", pr)
	}

	ev := announceUntilSeen(t, r, peer)
	if ev.num("hops") != 1 || ev.str("identity") != r.dest.Identity().Hash().String() {
		t.Fatalf("peer announce event %v", ev)
	}
	pi := peerAnnounceUntilLearned(t, r, peer, peerDest)
	if pi.Hops != 1 || pi.NextHop != peerDest {
		t.Fatalf("path %+v", pi)
	}
	if _, appData, ok := r.node.Transport().Recall(peerDest); !ok || string(appData) != "pyleaf" {
		t.Fatalf("recall app data %q %v", appData, ok)
	}

	peerSendUntilProven(t, peer, r.dest.Hash(), []byte("from python"), r.received([]byte("from python")))
	reticleSendUntilProven(t, r, peer, peerDest, []byte("from reticle"))
}

// TestInteropViaPythonTransport: Reticle <-> stock rnsd (transport) <->
// Python leaf: two hops, HEADER_2 in transport, proofs back along the
// reverse table; then a late Reticle node resolves paths by path request
// and reaches the first Reticle node through rnsd.
func TestInteropViaPythonTransport(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	startRnsd(t, "rnsd", true, serverSection(port))
	waitTCP(t, port)
	peer, ready := startPeer(t, "pyleaf", false, clientSection(port))
	peerDest := mustHash(t, ready.str("dest"))
	r := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	r.waitUp(t)

	ev := announceUntilSeen(t, r, peer)
	if ev.num("hops") != 2 {
		t.Fatalf("leaf saw Reticle at %d hops, want 2", ev.num("hops"))
	}
	pi := peerAnnounceUntilLearned(t, r, peer, peerDest)
	if pi.Hops != 2 || pi.NextHop == peerDest {
		t.Fatalf("path %+v, want 2 hops via the transport node", pi)
	}
	peerSendUntilProven(t, peer, r.dest.Hash(), []byte("py via rnsd"), r.received([]byte("py via rnsd")))
	reticleSendUntilProven(t, r, peer, peerDest, []byte("reticle via rnsd"))

	// A second Reticle node joins late and learns both paths by asking: the
	// reference transport node answers Reticle's path requests from its
	// path table. Then Reticle talks to Reticle through the reference.
	r2 := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	var prMu sync.Mutex
	viaPR := map[wire.Hash]bool{}
	r2.node.Transport().HandleAnnounces("", true, func(a transport.Announce) {
		prMu.Lock()
		viaPR[a.Destination] = viaPR[a.Destination] || a.PathResponse
		prMu.Unlock()
	})
	r2.waitUp(t)
	for _, dest := range []wire.Hash{peerDest, r.dest.Hash()} {
		var pi transport.PathInfo
		var ok bool
		for attempt := 1; attempt <= maxAttempts && !ok; attempt++ {
			if err := r2.node.RequestPath(dest); err != nil {
				t.Fatal(err)
			}
			for range 100 {
				if pi, ok = r2.node.Transport().Path(dest); ok {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !ok {
				t.Logf("RETRY: no path response for %s (attempt %d)", dest, attempt)
			}
		}
		if !ok || pi.Hops != 2 {
			t.Fatalf("path to %s after request: %+v %v", dest, pi, ok)
		}
		prMu.Lock()
		pr := viaPR[dest]
		prMu.Unlock()
		t.Logf("late Reticle node learned %s: hops %d, from a path response: %v", dest, pi.Hops, pr)
	}
	prMu.Lock()
	answered := len(viaPR)
	for _, v := range viaPR {
		if !v {
			answered--
		}
	}
	prMu.Unlock()
	if answered == 0 {
		t.Fatal("no path response from the reference transport node (paths came from rebroadcasts only)")
	}
	for attempt := 1; ; attempt++ {
		rc, err := r2.node.Send(r.dest.Hash(), []byte("reticle to reticle"), transport.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-rc.Done():
		case <-time.After(20 * time.Second):
		}
		if rc.Status() == transport.ReceiptDelivered && r.received([]byte("reticle to reticle"))() {
			t.Logf("Reticle -> rnsd -> Reticle proven (attempt %d, rtt %v)", attempt, rc.RTT())
			break
		}
		if attempt == maxAttempts {
			t.Fatalf("Reticle -> rnsd -> Reticle never proven: %v", rc.Status())
		}
		t.Logf("RETRY: Reticle -> rnsd -> Reticle: %v (attempt %d)", rc.Status(), attempt)
	}
}

// TestInteropReticleTransport: Python leaf A <-> Reticle (transport node,
// TCP server) <-> Python leaf B. Reticle rebroadcasts announces, answers a
// path request from its path table, forwards packets and routes proofs back.
func TestInteropReticleTransport(t *testing.T) {
	requirePython(t)
	r := startReticle(t, true, "tcp-server://127.0.0.1:0?name=hub")
	addr := r.node.ListenAddr("hub")
	if addr == nil {
		t.Fatal("no listen address")
	}
	tcpPort := addr.(*netTCPAddr).Port
	a, readyA := startPeer(t, "pyleafA", false, clientSection(tcpPort))
	destA := mustHash(t, readyA.str("dest"))
	for range 200 {
		if r.node.InterfaceStats()[0].Clients == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	peerAnnounceUntilLearned(t, r, a, destA)
	// B joins after A's announce went by, so it can only learn A's path by
	// asking; Reticle answers from its path table.
	b, readyB := startPeer(t, "pyleafB", false, clientSection(tcpPort))
	destB := mustHash(t, readyB.str("dest"))
	for range 200 {
		if r.node.InterfaceStats()[0].Clients == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var pr event
	for attempt := 1; attempt <= maxAttempts && pr == nil; attempt++ {
		b.send(map[string]any{"cmd": "request_path", "dest": destA.String()})
		pr = b.wait(8*time.Second, isEvent("announce", "dest", destA.String()))
		if pr == nil {
			t.Logf("RETRY: B got no path response for A (attempt %d)", attempt)
		}
	}
	if pr == nil || pr.num("hops") != 2 {
		t.Fatalf("B path response %v, want hops 2", pr)
	}
	t.Logf("B learned A via Reticle: path_response=%v hops=%d", pr["path_response"], pr.num("hops"))

	// B announces; Reticle rebroadcasts it to A.
	b.send(map[string]any{"cmd": "announce", "app_data": hexs([]byte("B"))})
	if ev := a.wait(10*time.Second, isEvent("announce", "dest", destB.String())); ev == nil || ev.num("hops") != 2 {
		t.Fatalf("A did not learn B through Reticle: %v", ev)
	}

	recvB := func() bool { return b.wait(3*time.Second, isEvent("packet", "data", hexs([]byte("A to B")))) != nil }
	recvA := func() bool { return a.wait(3*time.Second, isEvent("packet", "data", hexs([]byte("B to A")))) != nil }
	peerSendUntilProven(t, b, destA, []byte("B to A"), recvA)
	peerSendUntilProven(t, a, destB, []byte("A to B"), recvB)
	// A opens a link to B through Reticle's link table and sends a packet
	// on it; B proves it over the link.
	linked := false
	for attempt := 1; attempt <= maxAttempts && !linked; attempt++ {
		sendID++
		id := sendID
		payload := fmt.Sprintf("over link %d", id)
		a.send(map[string]any{"cmd": "link", "dest": destB.String(), "data": hexs([]byte(payload)), "id": id, "app": app, "aspect": aspect})
		ev := a.wait(20*time.Second, func(e event) bool {
			return (e.str("event") == "link_receipt" || e.str("event") == "link_closed") && e.num("id") == id
		})
		got := b.wait(3*time.Second, isEvent("link_packet", "data", hexs([]byte(payload)))) != nil
		if ev != nil && ev.str("status") == "delivered" && got {
			t.Logf("link A -> B through Reticle established and proven (attempt %d)", attempt)
			linked = true
			break
		}
		t.Logf("RETRY: link A -> B: %v, B got packet %v (attempt %d)", ev, got, attempt)
	}
	if !linked {
		t.Fatal("no link through the Reticle transport node")
	}
	c := r.node.Transport().Counters()
	if c.Forwarded < 4 || c.AnnouncesRebroadcast == 0 || c.PathResponsesSent == 0 {
		t.Fatalf("transport counters %+v", c)
	}
	t.Logf("Reticle transport counters: %+v", c)
}

// TestInteropIFAC: interface access codes against the reference. A Reticle
// node with the right network name and passphrase talks to the Python leaf;
// one with a wrong passphrase learns nothing and counts violations.
func TestInteropIFAC(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	section := serverSection(port) + "    network_name = reticle-interop\n    passphrase = open sesame\n"
	peer, ready := startPeer(t, "pyleaf-ifac", false, section)
	peerDest := mustHash(t, ready.str("dest"))
	good := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d?network_name=reticle-interop&passphrase=open+sesame", port))
	bad := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d?network_name=reticle-interop&passphrase=wrong", port))
	good.waitUp(t)
	bad.waitUp(t)

	announceUntilSeen(t, good, peer)
	pi := peerAnnounceUntilLearned(t, good, peer, peerDest)
	if pi.Hops != 1 {
		t.Fatalf("path %+v", pi)
	}
	peerSendUntilProven(t, peer, good.dest.Hash(), []byte("ifac py"), good.received([]byte("ifac py")))
	reticleSendUntilProven(t, good, peer, peerDest, []byte("ifac reticle"))

	if err := bad.node.Announce(bad.dest, nil); err != nil {
		t.Fatal(err)
	}
	if ev := peer.wait(3*time.Second, isEvent("announce", "dest", bad.dest.Hash().String())); ev != nil {
		t.Fatalf("reference accepted an announce with a wrong access code: %v", ev)
	}
	if bad.node.Transport().HasPath(peerDest) {
		t.Fatal("wrong access code learned a path")
	}
	var violations uint64
	for _, c := range bad.node.Transport().InterfaceCounters() {
		violations += c.Violations
	}
	if violations == 0 {
		t.Fatal("no violations counted for frames with a foreign access code")
	}
	t.Logf("wrong-passphrase node counted %d violations", violations)
}
