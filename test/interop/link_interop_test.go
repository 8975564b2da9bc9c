package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// linkTestMaxResource is Reticle's inbound resource cap in these tests.
const linkTestMaxResource = 2 << 20

// reticleLinks is a Reticle node with its link layer, listening on its
// destination with an echo handler and accepting resources.
type reticleLinks struct {
	*reticle
	m         *link.Manager
	incoming  chan *link.Link
	resources chan *link.Resource
}

func startReticleLinks(t *testing.T, uris ...string) *reticleLinks {
	t.Helper()
	r := startReticle(t, false, uris...)
	m, err := r.node.NewLinks(link.Options{Logger: testLogger(t), MaxResourceSize: linkTestMaxResource})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	rl := &reticleLinks{reticle: r, m: m, incoming: make(chan *link.Link, 4), resources: make(chan *link.Resource, 8)}
	err = m.Listen(r.dest, link.ListenConfig{
		Callbacks: link.Callbacks{
			Established:        func(l *link.Link) { rl.incoming <- l },
			ResourceAdvertised: func(*link.Link, *link.Advertisement) bool { return true },
			ResourceConcluded:  func(_ *link.Link, res *link.Resource) { rl.resources <- res },
		},
		ProveAll: true,
		Handlers: []link.Handler{{Path: "/echo", Handle: func(req *link.Request) (msgpack.Value, bool) { return req.Data, true }}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

func startLinkPeer(t *testing.T, name, ifaceSection string) (*proc, event) {
	t.Helper()
	dir := writeConfig(t, false, ifaceSection)
	p := startProc(t, name, "python3", "linkpeer.py", dir, app, aspect)
	ready := p.wait(20*time.Second, isEvent("ready"))
	if ready == nil {
		t.Fatalf("%s did not become ready", name)
	}
	return p, ready
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var linkCmdID int

// peerRequest makes the Python end request path with data; it returns the
// response event, retrying a lost request a bounded number of times.
func peerRequest(t *testing.T, peer *proc, path string, data []byte) event {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		linkCmdID++
		id := linkCmdID
		peer.send(map[string]any{"cmd": "request", "id": id, "path": path, "data": hexs(data), "timeout": 10})
		ev := peer.wait(20*time.Second, func(e event) bool {
			return (e.str("event") == "response" || e.str("event") == "request_failed") && e.num("id") == id
		})
		if ev != nil && ev.str("event") == "response" {
			return ev
		}
		t.Logf("RETRY: python request %s: %v (attempt %d)", path, ev, attempt)
	}
	t.Fatalf("python request %s never answered", path)
	return nil
}

// reticleRequest requests path on l with data, retrying a lost request.
func reticleRequest(t *testing.T, l *link.Link, path string, data msgpack.Value) msgpack.Value {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		rr, err := l.Request(path, data, link.RequestOptions{Timeout: 15 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := rr.Wait(ctx)
		cancel()
		if err == nil {
			return resp
		}
		t.Logf("RETRY: reticle request %s: %v (attempt %d)", path, err, attempt)
	}
	t.Fatalf("reticle request %s never answered", path)
	return msgpack.Nil()
}

// peerSendResource makes the Python end send a resource and returns the
// sent event and the resource Reticle received.
func peerSendResource(t *testing.T, rl *reticleLinks, peer *proc, size int, compressible bool) (event, *link.Resource) {
	t.Helper()
	linkCmdID++
	id := linkCmdID
	peer.send(map[string]any{"cmd": "resource", "id": id, "size": size, "compressible": compressible})
	sent := peer.wait(20*time.Second, func(e event) bool { return e.str("event") == "resource_sent" && e.num("id") == id })
	if sent == nil {
		t.Fatal("python did not start the resource")
	}
	select {
	case res := <-rl.resources:
		return sent, res
	case <-time.After(60 * time.Second):
		t.Fatal("reticle received no resource")
	}
	return nil, nil
}

// exerciseLink runs the request/response and resource checks on an
// established link l whose other end is the Python peer. Requests go from
// initiator to responder only: the reference serves requests from its
// destination's handlers, which an initiating link does not have.
func exerciseLink(t *testing.T, rl *reticleLinks, peer *proc, l *link.Link) {
	t.Run("packet proofs", func(t *testing.T) {
		if l.Initiator() {
			// Reticle -> python: the reference's destination proves all.
			for attempt := 1; attempt <= maxAttempts; attempt++ {
				r, err := l.SendWithReceipt([]byte("prove this"), 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				<-r.Done()
				if r.Delivered() {
					t.Logf("python proved the link packet (rtt %v, attempt %d)", r.RTT(), attempt)
					return
				}
				t.Logf("RETRY: link packet proof: %v (attempt %d)", r.Err(), attempt)
			}
			t.Fatal("python never proved a link packet")
		}
		// python -> Reticle: Reticle's listener proves all.
		for attempt := 1; attempt <= maxAttempts; attempt++ {
			linkCmdID++
			id := linkCmdID
			peer.send(map[string]any{"cmd": "send", "id": id, "data": hexs([]byte("prove that")), "timeout": 10})
			ev := peer.wait(15*time.Second, func(e event) bool { return e.str("event") == "packet_receipt" && e.num("id") == id })
			if ev != nil && ev.str("status") == "delivered" {
				return
			}
			t.Logf("RETRY: python link packet receipt %v (attempt %d)", ev, attempt)
		}
		t.Fatal("reticle's proofs never accepted by python")
	})
	t.Run("python requests reticle", func(t *testing.T) {
		if l.Initiator() {
			t.Skip("reticle initiated the link")
		}
		ev := peerRequest(t, peer, "/echo", []byte("ping from python"))
		if ev.str("data") != hexs([]byte("ping from python")) {
			t.Fatalf("response %v", ev)
		}
	})
	t.Run("reticle requests python", func(t *testing.T) {
		if !l.Initiator() {
			t.Skip("python initiated the link")
		}
		v := reticleRequest(t, l, "/echo", msgpack.Bin([]byte("ping from reticle")))
		if b, _ := v.AsBin(); !bytes.Equal(b, []byte("ping from reticle")) {
			t.Fatalf("response %v", v.Kind())
		}
		v = reticleRequest(t, l, "/big", msgpack.Map(msgpack.KV{Key: msgpack.Str("n"), Value: msgpack.Int(20000)}))
		if b, ok := v.AsBin(); !ok || len(b) != 20000 {
			t.Fatalf("resource response: %v of %d", v.Kind(), v.Len())
		}
	})
	t.Run("reticle sends 1 MiB", func(t *testing.T) {
		data := make([]byte, 1<<20)
		_, _ = rand.Read(data)
		for attempt := 1; attempt <= maxAttempts; attempt++ {
			res, err := l.SendResource(data, link.ResourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-res.Done():
			case <-time.After(90 * time.Second):
				res.Cancel()
			}
			ev := peer.wait(10*time.Second, func(e event) bool {
				return e.str("event") == "resource_received" && e.str("sha256") == shaHex(data)
			})
			if res.Err() == nil && ev != nil && ev.num("size") == len(data) {
				t.Logf("1 MiB to python in %d segments (attempt %d)", res.Segments(), attempt)
				return
			}
			t.Logf("RETRY: resource to python: err %v, python event %v (attempt %d)", res.Err(), ev, attempt)
		}
		t.Fatal("1 MiB resource never reached python intact")
	})
	t.Run("python sends 1 MiB", func(t *testing.T) {
		sent, res := peerSendResource(t, rl, peer, 1<<20, false)
		if res.Err() != nil || shaHex(res.Data()) != sent.str("sha256") {
			t.Fatalf("received err %v, %d bytes", res.Err(), len(res.Data()))
		}
	})
	t.Run("python sends compressible", func(t *testing.T) {
		sent, res := peerSendResource(t, rl, peer, 200_000, true)
		if sent["compressed"] != true {
			t.Fatalf("reference did not compress: %v", sent)
		}
		if res.Err() != nil || shaHex(res.Data()) != sent.str("sha256") {
			t.Fatalf("received err %v, %d bytes", res.Err(), len(res.Data()))
		}
	})
	t.Run("oversized refused", func(t *testing.T) {
		linkCmdID++
		id := linkCmdID
		peer.send(map[string]any{"cmd": "resource", "id": id, "size": linkTestMaxResource + 1})
		ev := peer.wait(30*time.Second, func(e event) bool { return e.str("event") == "resource_done" && e.num("id") == id })
		if ev == nil || ev.str("status") != "rejected" {
			t.Fatalf("python resource outcome %v", ev)
		}
		select {
		case res := <-rl.resources:
			t.Fatalf("reticle delivered a refused resource: %v", res.Err())
		default:
		}
		if l.Status() != link.StatusActive {
			t.Fatalf("link %s after refusal", l.Status())
		}
		// The link still works.
		if l.Initiator() {
			v := reticleRequest(t, l, "/echo", msgpack.Bin([]byte("still here")))
			if b, _ := v.AsBin(); !bytes.Equal(b, []byte("still here")) {
				t.Fatalf("response %v", v.Kind())
			}
		} else {
			ev = peerRequest(t, peer, "/echo", []byte("still here"))
			if ev.str("data") != hexs([]byte("still here")) {
				t.Fatalf("response %v", ev)
			}
		}
	})
}

// TestLinkInteropFromPython: the reference opens a link to Reticle.
func TestLinkInteropFromPython(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	peer, _ := startLinkPeer(t, "pylink", serverSection(port))
	rl := startReticleLinks(t, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	rl.waitUp(t)
	announceUntilSeen(t, rl.reticle, peer)

	var l *link.Link
	for attempt := 1; attempt <= maxAttempts && l == nil; attempt++ {
		peer.send(map[string]any{"cmd": "link", "dest": rl.dest.Hash().String(), "app": app, "aspect": aspect})
		select {
		case l = <-rl.incoming:
		case <-time.After(15 * time.Second):
			t.Logf("RETRY: python link not established (attempt %d)", attempt)
		}
	}
	if l == nil {
		t.Fatal("python never established a link to reticle")
	}
	ev := peer.wait(10*time.Second, isEvent("link_established", "link_id", l.ID().String()))
	if ev == nil {
		t.Fatal("python did not report the link established")
	}
	t.Logf("link %s from python: rtt %v, mtu %d (python mtu %v)", l.ID(), l.RTT(), l.MTU(), ev["mtu"])

	peer.send(map[string]any{"cmd": "identify"})
	idEv := peer.wait(10*time.Second, isEvent("identify_sent"))
	for range 100 {
		if l.RemoteIdentity() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if idEv == nil || l.RemoteIdentity() == nil || l.RemoteIdentity().Hash().String() != idEv.str("identity") {
		t.Fatalf("identify: %v, remote %v", idEv, l.RemoteIdentity())
	}

	exerciseLink(t, rl, peer, l)

	peer.send(map[string]any{"cmd": "close"})
	select {
	case <-l.Done():
		if l.CloseReason() != link.ReasonInitiatorClosed {
			t.Fatalf("close reason %v", l.CloseReason())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("python teardown not seen by reticle")
	}
}

// TestLinkInteropToPython: Reticle opens a link to the reference.
func TestLinkInteropToPython(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	peer, ready := startLinkPeer(t, "pylink", serverSection(port))
	peerDest := mustHash(t, ready.str("dest"))
	rl := startReticleLinks(t, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	rl.waitUp(t)
	peerAnnounceUntilLearned(t, rl.reticle, peer, peerDest)
	announceUntilSeen(t, rl.reticle, peer) // so python can send resources back over the link

	var l *link.Link
	for attempt := 1; attempt <= maxAttempts && l == nil; attempt++ {
		c, err := rl.m.Open(peerDest, link.Callbacks{
			ResourceAdvertised: func(*link.Link, *link.Advertisement) bool { return true },
			ResourceConcluded:  func(_ *link.Link, res *link.Resource) { rl.resources <- res },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = c.Wait(ctx)
		cancel()
		if err != nil {
			t.Logf("RETRY: link to python: %v (attempt %d)", err, attempt)
			_ = c.Close()
			continue
		}
		l = c
	}
	if l == nil {
		t.Fatal("reticle never established a link to python")
	}
	if ev := peer.wait(10*time.Second, isEvent("link_incoming", "link_id", l.ID().String())); ev == nil {
		t.Fatal("python did not see the link")
	}
	t.Logf("link %s to python: rtt %v, mtu %d", l.ID(), l.RTT(), l.MTU())
	if err := l.Send([]byte("datagram")); err != nil {
		t.Fatal(err)
	}
	if ev := peer.wait(10*time.Second, isEvent("link_packet", "data", hexs([]byte("datagram")))); ev == nil {
		t.Fatal("python did not receive the link packet")
	}

	exerciseLink(t, rl, peer, l)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := peer.wait(10*time.Second, isEvent("link_closed", "link_id", l.ID().String())); ev == nil {
		t.Fatal("python did not see the teardown")
	}

	// A link at the base MTU of 500 bytes: resources of several hundred
	// parts need hashmap updates both ways.
	t.Run("base mtu hashmap updates", func(t *testing.T) {
		var small *link.Link
		for attempt := 1; attempt <= maxAttempts && small == nil; attempt++ {
			c, err := rl.m.OpenWith(peerDest, link.OpenOptions{MTU: wire.MTU, Callbacks: link.Callbacks{
				ResourceAdvertised: func(*link.Link, *link.Advertisement) bool { return true },
				ResourceConcluded:  func(_ *link.Link, res *link.Resource) { rl.resources <- res },
			}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err = c.Wait(ctx)
			cancel()
			if err != nil {
				t.Logf("RETRY: small-mtu link to python: %v (attempt %d)", err, attempt)
				continue
			}
			small = c
		}
		if small == nil {
			t.Fatal("no small-mtu link")
		}
		if small.MTU() != wire.MTU {
			t.Fatalf("link mtu %d", small.MTU())
		}
		if ev := peer.wait(10*time.Second, isEvent("link_incoming", "link_id", small.ID().String())); ev == nil {
			t.Fatal("python did not see the small-mtu link")
		}
		data := make([]byte, 200_000)
		_, _ = rand.Read(data)
		res, err := small.SendResource(data, link.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-res.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("resource to python did not finish")
		}
		if res.Err() != nil || peer.wait(10*time.Second, func(e event) bool {
			return e.str("event") == "resource_received" && e.str("sha256") == shaHex(data)
		}) == nil {
			t.Fatalf("resource to python over base mtu: %v", res.Err())
		}
		sent, got := peerSendResource(t, rl, peer, 200_000, false)
		if got.Err() != nil || shaHex(got.Data()) != sent.str("sha256") {
			t.Fatalf("resource from python over base mtu: %v", got.Err())
		}
		_ = small.Close()
	})
}
