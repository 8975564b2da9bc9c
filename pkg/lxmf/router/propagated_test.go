package router

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// TestPropagatedUpload: alice uploads a propagated message for bob to a
// minimal propagation node on bob's side: one container, encrypted for
// bob, stamped to the node's cost; the node's proof makes it sent, which
// is final (never uploaded again).
func TestPropagatedUpload(t *testing.T) {
	p := newPairWith(t, false, true, Options{})
	p.introduce()
	pnID, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ad := lxmf.PropagationNodeAppData{Enabled: true, TransferLimit: 256, SyncLimit: 256, StampCost: 4, PeeringCost: 18}.Pack()
	pn, err := p.b.tr.Register(transport.DestinationConfig{Identity: pnID, App: lxmf.AppName, Aspects: []string{"propagation"}, AppData: func() []byte { return ad }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var uploads [][]byte
	if err := p.b.links.Listen(pn, link.ListenConfig{ProveAll: true, Callbacks: link.Callbacks{Packet: func(_ *link.Link, b []byte) {
		mu.Lock()
		uploads = append(uploads, append([]byte(nil), b...))
		mu.Unlock()
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.a.tr.Remember(pn.Hash(), pnID, ad); err != nil {
		t.Fatal(err)
	}

	// No node chosen: the message fails at once with a clear reason.
	early := p.a.composeMethod(t, p.b.r.Hash(), "too early", p.clock.Now(), lxmf.MethodPropagated)
	p.step(10 * time.Millisecond)
	if u := p.a.q.state(early); u.State != StateFailed || !strings.Contains(u.Err, ErrNoPropagationNode.Error()) {
		t.Fatalf("without a node: %+v", u)
	}

	p.a.r.SetPropagationNode(pn.Hash())
	id := p.a.composeMethod(t, p.b.r.Hash(), "via the node", p.clock.Now(), lxmf.MethodPropagated)
	for range 20 {
		p.step(500 * time.Millisecond)
		if p.a.q.state(id).State == StateSent {
			break
		}
	}
	u := p.a.q.state(id)
	if u.State != StateSent || u.NextAttempt.Year() < 9999 {
		t.Fatalf("after upload: %+v", u)
	}
	p.step(2 * time.Hour)
	mu.Lock()
	n := len(uploads)
	var up []byte
	if n > 0 {
		up = uploads[0]
	}
	mu.Unlock()
	if n != 1 || p.a.q.state(id).State != StateSent || p.a.q.state(id).Attempts != u.Attempts {
		t.Fatalf("%d uploads, state %+v", n, p.a.q.state(id))
	}
	_, entries, err := lxmf.UnpackPropagationContainer(up, msgpack.Limits{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("container: %d entries, %v", len(entries), err)
	}
	pe, err := lxmf.ValidatePropagationStamp(entries[0], 4)
	if err != nil {
		t.Fatalf("propagation stamp: %v", err)
	}
	if wire.Hash(pe.LXMFData[:16]) != p.b.r.Hash() {
		t.Fatal("entry not addressed to bob")
	}
	packed, _, err := lxmf.DecryptPropagated(pe.LXMFData, p.b.id, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lxmf.Unpack(packed, msgpack.Limits{})
	if err != nil || m.ID != id || string(m.Content) != "via the node" {
		t.Fatalf("decrypted %+v, %v", m, err)
	}
	// Bob's router takes the downloaded form as a propagated message.
	if err := p.b.r.DeliverPropagated(pe.LXMFData); err != nil {
		t.Fatal(err)
	}
	if _, stored, _ := p.b.sink.snapshot(); len(stored) != 1 || stored[0].Method != lxmf.MethodPropagated || !stored[0].Verified {
		t.Fatalf("bob stored %+v", stored)
	}
	if err := p.a.r.DeliverPropagated(pe.LXMFData); err == nil {
		t.Fatal("alice accepted bob's message")
	}
}

// TestPropagateOnFail: an opportunistic message to a recipient that never proves runs out of attempts;
// with PropagateOnFail on and a node chosen it goes to the propagation node instead (method changed,
// state sent), and with it off the same message fails.
func TestPropagateOnFail(t *testing.T) {
	var on atomic.Bool
	p := newPairWith(t, false, true, Options{MaxAttempts: 2, PropagateOnFail: on.Load})
	p.introduce()
	pnID, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ad := lxmf.PropagationNodeAppData{Enabled: true, TransferLimit: 256, SyncLimit: 256, StampCost: 0, PeeringCost: 18}.Pack()
	pn, err := p.a.tr.Register(transport.DestinationConfig{Identity: pnID, App: lxmf.AppName, Aspects: []string{"propagation"}, AppData: func() []byte { return ad }})
	if err != nil {
		t.Fatal(err)
	}
	var uploads atomic.Int32
	if err := p.a.links.Listen(pn, link.ListenConfig{ProveAll: true, Callbacks: link.Callbacks{Packet: func(*link.Link, []byte) {
		uploads.Add(1)
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.b.tr.Remember(pn.Hash(), pnID, ad); err != nil {
		t.Fatal(err)
	}
	p.b.r.SetPropagationNode(pn.Hash())
	// A recipient whose identity bob knows but who is not on the mesh: nothing ever proves.
	gone, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	goneDest, err := identity.DestinationHash(gone, lxmf.AppName, "delivery")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.b.r.RememberPeer(Peer{Hash: goneDest, Identity: gone}); err != nil {
		t.Fatal(err)
	}
	run := func(content string) wire.FullHash {
		id := p.b.compose(t, goneDest, content, p.clock.Now())
		for range 200 {
			p.step(15 * time.Second)
			if s := p.b.q.state(id).State; s == StateFailed || s == StateSent && p.b.q.method(id) == lxmf.MethodPropagated {
				break
			}
		}
		return id
	}

	off := run("fails")
	if u := p.b.q.state(off); u.State != StateFailed || p.b.q.method(off) != lxmf.MethodOpportunistic {
		t.Fatalf("with the option off: %+v, method %d", u, p.b.q.method(off))
	}
	if uploads.Load() != 0 {
		t.Fatalf("%d uploads with the option off", uploads.Load())
	}

	on.Store(true)
	id := run("through the node")
	u := p.b.q.state(id)
	if u.State != StateSent || p.b.q.method(id) != lxmf.MethodPropagated || !strings.Contains(u.Err, "propagation node") && u.Err != "" {
		t.Fatalf("with the option on: %+v, method %d", u, p.b.q.method(id))
	}
	if uploads.Load() != 1 {
		t.Fatalf("%d uploads, want 1", uploads.Load())
	}
	var sawHandover bool
	p.b.q.mu.Lock()
	for _, l := range p.b.q.log {
		if l.Method == lxmf.MethodPropagated && l.State == StateQueued && strings.Contains(l.Err, "no delivery proof") {
			sawHandover = true
		}
	}
	p.b.q.mu.Unlock()
	if !sawHandover {
		t.Fatal("no queued update handing the message to the propagation node, with the reason")
	}
}
