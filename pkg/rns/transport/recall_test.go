package transport

import (
	"bytes"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Recall falls back to local destinations like Identity.recall: the
// identity's public part and nil app data.
func TestRecallLocalDestination(t *testing.T) {
	n := newTestNet(t)
	a := n.node(false)
	d := newDest(t, a, DestinationConfig{AppData: func() []byte { return []byte("local") }})
	id, app, ok := a.Recall(d.Hash())
	if !ok {
		t.Fatal("local destination not recalled")
	}
	if id.Hash() != d.Identity().Hash() || !bytes.Equal(id.PublicKey(), d.Identity().PublicKey()) {
		t.Fatal("recalled identity differs from the destination's")
	}
	if id.HasPrivateKey() {
		t.Fatal("recall exposed the private key")
	}
	if app != nil {
		t.Fatalf("app data %q, want nil", app)
	}
	a.Deregister(d)
	if _, _, ok := a.Recall(d.Hash()); ok {
		t.Fatal("deregistered destination still recalled")
	}
}

// A PLAIN destination has no identity to recall.
func TestRecallLocalPlain(t *testing.T) {
	n := newTestNet(t)
	a := n.node(false)
	d, err := a.Register(DestinationConfig{Type: wire.Plain, App: "reticle", Aspects: []string{"plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := a.Recall(d.Hash()); ok {
		t.Fatal("plain destination recalled")
	}
}
