package interop

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

const ratchetAspect = "ratchet"

// ratchetNode is a Reticle node with one destination that has ratchets on
// and enforced, so only packets encrypted to an announced ratchet decrypt.
type ratchetNode struct {
	node *rns.Node
	dest *transport.Destination
	rx   chan transport.Delivery
}

func startRatchetNode(t *testing.T, dataDir string, id *identity.Identity, uri string) *ratchetNode {
	t.Helper()
	node, err := rns.New(rns.Options{
		DataDir: dataDir, Interfaces: []string{uri},
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
	rn := &ratchetNode{node: node, rx: make(chan transport.Delivery, 16)}
	rn.dest, err = node.RegisterDestination(transport.DestinationConfig{
		Identity: id, App: app, Aspects: []string{ratchetAspect}, Proof: transport.ProveAll,
		Ratchets: true, EnforceRatchets: true,
		OnPacket: func(d transport.Delivery) { rn.rx <- d },
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if node.InterfaceStats()[0].State == "up" {
			return rn
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("reticle interface did not come up")
	return nil
}

// peerSendRatchet sends from the Python peer to the ratchet destination
// until the reference reports the proof and Reticle delivered the payload.
func peerSendRatchet(t *testing.T, peer *proc, rn *ratchetNode, payload []byte) {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		sendID++
		id := sendID
		peer.send(map[string]any{"cmd": "send", "dest": rn.dest.Hash().String(), "data": hexs(payload), "id": id,
			"timeout": 10, "app": app, "aspect": ratchetAspect})
		ev := peer.wait(15*time.Second, func(e event) bool {
			return (e.str("event") == "receipt" || e.str("event") == "error") && e.num("id") == id
		})
		got := false
		deadline := time.After(3 * time.Second)
	drain:
		for {
			select {
			case d := <-rn.rx:
				if bytes.Equal(d.Data, payload) {
					got = true
					break drain
				}
			case <-deadline:
				break drain
			}
		}
		if ev != nil && ev.str("status") == "delivered" && got {
			t.Logf("python -> ratchet destination proven (attempt %d)", attempt)
			return
		}
		t.Logf("RETRY: ratchet send %d: %v, arrived %v (attempt %d)", id, ev, got, attempt)
	}
	t.Fatal("python -> ratchet destination never proven")
}

// TestRatchetPythonEncryptsToReticleRatchet: Reticle announces a
// destination with ratchets enforced; the Python reference learns the
// ratchet from the announce and encrypts to it; Reticle decrypts with its
// ring and proves. After a restart of the Reticle node from the same data
// dir, without a new announce, the peer's packet (still encrypted to the
// remembered ratchet) decrypts with the ring loaded from disk.
func TestRatchetPythonEncryptsToReticleRatchet(t *testing.T) {
	requirePython(t)
	port := freePort(t)
	peer, _ := startPeer(t, "pyleaf", false, serverSection(port))
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	uri := fmt.Sprintf("tcp-client://127.0.0.1:%d", port)
	rn := startRatchetNode(t, dataDir, id, uri)

	var seen event
	for attempt := 1; attempt <= maxAttempts && seen == nil; attempt++ {
		if err := rn.node.Announce(rn.dest, nil); err != nil {
			t.Fatal(err)
		}
		seen = peer.wait(8*time.Second, isEvent("announce", "dest", rn.dest.Hash().String()))
	}
	if seen == nil {
		t.Fatal("peer never validated the ratchet announce")
	}
	ratchet := rn.dest.RatchetPublicKey()
	if len(ratchet) != wire.RatchetLen {
		t.Fatalf("ratchet %x", ratchet)
	}
	peerSendRatchet(t, peer, rn, []byte("to reticle ratchet"))

	if err := rn.node.Close(); err != nil {
		t.Fatal(err)
	}
	rn2 := startRatchetNode(t, dataDir, id, uri)
	if !bytes.Equal(rn2.dest.RatchetPublicKey(), ratchet) {
		t.Fatalf("ratchet after restart %x, want %x", rn2.dest.RatchetPublicKey(), ratchet)
	}
	peerSendRatchet(t, peer, rn2, []byte("after restart, same ratchet"))
}
