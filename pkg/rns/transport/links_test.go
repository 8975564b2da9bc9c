package transport

import (
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

type linkRecorder struct {
	mu   sync.Mutex
	pkts []wire.Packet
}

func (l *linkRecorder) HandleLinkPacket(p *wire.Packet, _ wire.FullHash, _ iface.Interface) {
	l.mu.Lock()
	l.pkts = append(l.pkts, *p)
	l.mu.Unlock()
}

func (l *linkRecorder) last(t *testing.T, typ wire.PacketType) wire.Packet {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := len(l.pkts) - 1; k >= 0; k-- {
		if l.pkts[k].PacketType == typ {
			return l.pkts[k]
		}
	}
	t.Fatalf("no packet of type %d", typ)
	return wire.Packet{}
}

func (l *linkRecorder) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts)
}

func TestLinkRelayThroughTransportNode(t *testing.T) {
	n := newTestNet(t)
	ra, rb := &linkRecorder{}, &linkRecorder{}
	a := n.node(false, func(o *Options) { o.Links = ra })
	tr := n.node(true)
	b := n.node(false, func(o *Options) { o.Links = rb })
	n.connect(a, tr)
	n.connect(tr, b)
	d := newDest(t, a, DestinationConfig{})
	_ = a.Announce(d, nil)
	n.pump()
	n.step(time.Second, tr)
	if pi, ok := b.Path(d.Hash()); !ok || pi.Hops != 2 {
		t.Fatalf("b path %+v %v", pi, ok)
	}

	// b requests a link: 64 key bytes and MTU signalling.
	sig, _ := wire.LinkSignalling(262144, 1)
	lrData := make([]byte, wire.LinkECPubSize)
	_, _ = rand.Read(lrData)
	lr := &wire.Packet{DestinationType: wire.Single, PacketType: wire.LinkRequest, DestinationHash: d.Hash(), Data: append(lrData, sig[:]...)}
	linkID := wire.LinkID(lr)
	if err := b.Outbound(lr, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	got := ra.last(t, wire.LinkRequest)
	if got.DestinationHash != d.Hash() || got.Hops != 2 || wire.LinkID(&got) != linkID {
		t.Fatalf("link request at a: %+v", got)
	}

	// a proves the link: signature over link id, its ephemeral X25519 key,
	// the destination's Ed25519 key and the signalling bytes.
	eph := make([]byte, 32)
	_, _ = rand.Read(eph)
	signed := append(append(append(append([]byte{}, linkID[:]...), eph...), d.Identity().PublicKey()[32:]...), sig[:]...)
	badProof := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Proof, Context: wire.ContextLRProof, DestinationHash: linkID,
		Data: append(append(make([]byte, 64), eph...), sig[:]...)}
	if err := a.Outbound(badProof, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if rb.count() != 0 {
		t.Fatal("forged link proof was relayed")
	}
	s, err := d.Identity().Sign(signed)
	if err != nil {
		t.Fatal(err)
	}
	proof := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Proof, Context: wire.ContextLRProof, DestinationHash: linkID,
		Data: append(append(s, eph...), sig[:]...)}
	if err := a.Outbound(proof, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got := rb.last(t, wire.Proof); got.DestinationHash != linkID || got.Hops != 2 {
		t.Fatalf("proof at b: %+v", got)
	}

	// Link traffic flows both ways through the relay.
	data := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Data, DestinationHash: linkID, Data: []byte("over the link")}
	if err := b.Outbound(data, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got := ra.last(t, wire.Data); string(got.Data) != "over the link" {
		t.Fatalf("link data at a: %+v", got)
	}
	back := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Data, DestinationHash: linkID, Data: []byte("and back")}
	if err := a.Outbound(back, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got := rb.last(t, wire.Data); string(got.Data) != "and back" {
		t.Fatalf("link data at b: %+v", got)
	}

	// Relayed links expire when idle.
	for range 200 {
		n.step(5*time.Second, tr)
	}
	tr.mu.Lock()
	left := len(tr.linkTable)
	tr.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d link entries left after idle timeout", left)
	}
}
