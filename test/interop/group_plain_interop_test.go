package interop

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// TestInteropGroupPlain: a Python reference peer (grouppeer.py) and Reticle
// both hold IN and OUT GROUP destinations app.group (same identity, same
// 64-byte key) and PLAIN destinations app.plain; packets go both ways over
// TCP on 127.0.0.1 and are delivered decrypted (GROUP) or as sent (PLAIN).
// A GROUP packet under another key is dropped by the reference, and both
// sides refuse to announce a PLAIN destination.
func TestInteropGroupPlain(t *testing.T) {
	requirePython(t)
	gid, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.GenerateGroupKey()
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir := writeConfig(t, false, serverSection(port))
	peer := startProc(t, "grouppeer", "python3", "grouppeer.py", dir, app, hexs(gid.PublicKey()), hexs(key))
	ready := peer.wait(20*time.Second, isEvent("ready"))
	if ready == nil {
		t.Fatal("grouppeer did not become ready")
	}
	r := startReticle(t, false, fmt.Sprintf("tcp-client://127.0.0.1:%d", port))
	r.waitUp(t)

	// Reticle only needs the group identity's public key.
	pub, err := identity.FromPublicKey(gid.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	groupRx := make(chan transport.Delivery, 16)
	plainRx := make(chan transport.Delivery, 16)
	group, err := r.node.RegisterDestination(transport.DestinationConfig{
		Type: wire.Group, Identity: pub, GroupKey: key, App: app, Aspects: []string{"group"},
		OnPacket: func(d transport.Delivery) { groupRx <- d },
	})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := r.node.RegisterDestination(transport.DestinationConfig{
		Type: wire.Plain, App: app, Aspects: []string{"plain"},
		OnPacket: func(d transport.Delivery) { plainRx <- d },
	})
	if err != nil {
		t.Fatal(err)
	}
	if group.Hash().String() != ready.str("group") || plain.Hash().String() != ready.str("plain") {
		t.Fatalf("hashes differ: reticle group %s plain %s, reference %v", group.Hash(), plain.Hash(), ready)
	}

	// Python -> Reticle.
	for _, tc := range []struct {
		kind string
		rx   chan transport.Delivery
		dest wire.Hash
	}{{"group", groupRx, group.Hash()}, {"plain", plainRx, plain.Hash()}} {
		payload := []byte("from python " + tc.kind)
		var got *transport.Delivery
		for attempt := 1; attempt <= maxAttempts && got == nil; attempt++ {
			peer.send(map[string]any{"cmd": "send_" + tc.kind, "data": hexs(payload)})
			if ev := peer.wait(5*time.Second, isEvent("sent", "kind", tc.kind)); ev == nil {
				t.Fatalf("reference did not send %s packet", tc.kind)
			}
			select {
			case d := <-tc.rx:
				got = &d
			case <-time.After(5 * time.Second):
				t.Logf("RETRY: %s packet from python not delivered (attempt %d)", tc.kind, attempt)
			}
		}
		if got == nil {
			t.Fatalf("%s packet from python never delivered", tc.kind)
		}
		if string(got.Data) != string(payload) || got.Destination != tc.dest || got.Hops != 1 {
			t.Fatalf("%s delivery %+v", tc.kind, *got)
		}
	}

	// Reticle -> Python; a GROUP packet under another key goes first and
	// must be dropped by the reference.
	wrongKey, err := identity.GenerateGroupKey()
	if err != nil {
		t.Fatal(err)
	}
	tr := r.node.Transport()
	wrong := []byte("wrong key")
	for _, kind := range []string{"group", "plain"} {
		var ev event
		for attempt := 1; attempt <= maxAttempts && ev == nil; attempt++ {
			payload := []byte(fmt.Sprintf("from reticle %s %d", kind, attempt))
			if kind == "group" {
				if err := tr.SendGroup(group.Hash(), wrongKey, wrong, transport.SendOptions{}); err != nil {
					t.Fatal(err)
				}
				err = tr.SendGroup(group.Hash(), key, payload, transport.SendOptions{})
			} else {
				err = tr.SendPlain(plain.Hash(), payload, transport.SendOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev = peer.wait(5*time.Second, isEvent("packet", "kind", kind, "data", hexs(payload))); ev == nil {
				t.Logf("RETRY: %s packet from reticle not delivered (attempt %d)", kind, attempt)
			}
		}
		if ev == nil {
			t.Fatalf("%s packet from reticle never delivered", kind)
		}
		if ev.num("hops") != 1 {
			t.Fatalf("%s packet event %v", kind, ev)
		}
	}
	peer.mu.Lock()
	for _, e := range peer.seen {
		if e.str("event") == "packet" && e.str("data") == hexs(wrong) {
			t.Errorf("reference delivered a group packet under the wrong key: %v", e)
		}
	}
	peer.mu.Unlock()

	// Neither side announces a PLAIN (or GROUP) destination.
	if err := r.node.Announce(plain, nil); !errors.Is(err, transport.ErrNotAnnounceable) {
		t.Fatalf("reticle plain announce: %v", err)
	}
	if err := r.node.Announce(group, nil); !errors.Is(err, transport.ErrNotAnnounceable) {
		t.Fatalf("reticle group announce: %v", err)
	}
	peer.send(map[string]any{"cmd": "announce_plain"})
	if ev := peer.wait(5*time.Second, isEvent("announce_refused")); ev == nil {
		t.Fatal("reference did not refuse a plain announce")
	}
}
