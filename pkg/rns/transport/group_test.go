package transport

import (
	"bytes"
	"errors"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func groupFixture(t *testing.T) (*identity.Identity, []byte) {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.GenerateGroupKey()
	if err != nil {
		t.Fatal(err)
	}
	return id, key
}

func TestGroupRoundTrip(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, ib := n.connect(a, b)
	id, key := groupFixture(t)
	pub, err := identity.FromPublicKey(id.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var rx []Delivery
	d, err := a.Register(DestinationConfig{
		Type: wire.Group, Identity: pub, GroupKey: key, App: "reticle", Aspects: []string{"group"},
		OnPacket: func(dl Delivery) { rx = append(rx, dl) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := identity.DestinationHash(id, "reticle", "group")
	if d.Hash() != want || d.Type() != wire.Group {
		t.Fatalf("group hash %s type %d, want %s", d.Hash(), d.Type(), want)
	}
	if err := b.SendGroup(d.Hash(), key, []byte("to the group"), SendOptions{Context: wire.ContextNone}); err != nil {
		t.Fatal(err)
	}
	frames := ib.take()
	if len(frames) != 1 {
		t.Fatalf("%d frames sent", len(frames))
	}
	var p wire.Packet
	if err := p.UnmarshalBinary(frames[0]); err != nil {
		t.Fatal(err)
	}
	if p.DestinationType != wire.Group || p.TransportType != wire.Broadcast || p.HeaderType != wire.Header1 || p.Hops != 0 {
		t.Fatalf("sent packet %+v", p)
	}
	if bytes.Contains(p.Data, []byte("to the group")) {
		t.Fatal("group payload sent in the clear")
	}
	a.Inbound(ia, frames[0])
	n.pump()
	if len(rx) != 1 || string(rx[0].Data) != "to the group" || rx[0].Destination != d.Hash() || rx[0].Hops != 1 {
		t.Fatalf("delivered %+v", rx)
	}
	// No proof goes back: the group identity has no private key here.
	if len(ia.take()) != 0 {
		t.Fatal("group packet was answered")
	}
	if c := a.Counters(); c.Delivered != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestGroupWrongKeyDroppedAndCounted(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	id, key := groupFixture(t)
	_, other := groupFixture(t)
	got := 0
	d, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: key, App: "reticle", Aspects: []string{"group"}, OnPacket: func(Delivery) { got++ }})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SendGroup(d.Hash(), other, []byte("intruder"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got != 0 || a.Counters().Delivered != 0 {
		t.Fatal("packet under the wrong key was delivered")
	}
	if v := a.InterfaceCounters()[0].Violations; v != 1 {
		t.Fatalf("violations %d, want 1", v)
	}
	// A 32-byte (AES-128) key works as in the reference.
	short := key[:32]
	d2, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: short, App: "reticle", Aspects: []string{"group128"}, OnPacket: func(Delivery) { got++ }})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SendGroup(d2.Hash(), short, []byte("ok"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got != 1 {
		t.Fatalf("AES-128 group packet delivered %d times", got)
	}
}

func TestGroupProvesWithPrivateIdentity(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, _ := n.connect(a, b)
	id, key := groupFixture(t)
	d, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: key, App: "reticle", Aspects: []string{"group"}, Proof: ProveAll})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SendGroup(d.Hash(), key, []byte("x"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range ia.peer.take() {
		a.Inbound(ia, f)
	}
	proofs := ia.take()
	if len(proofs) != 1 {
		t.Fatalf("%d proofs", len(proofs))
	}
	var p wire.Packet
	if err := p.UnmarshalBinary(proofs[0]); err != nil || p.PacketType != wire.Proof || len(p.Data) != 64 {
		t.Fatalf("proof %+v %v", p, err)
	}
}

func TestPlainRoundTrip(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, ib := n.connect(a, b)
	var rx []Delivery
	d, err := a.Register(DestinationConfig{
		Type: wire.Plain, App: "reticle", Aspects: []string{"plain"}, Proof: ProveAll,
		OnPacket: func(dl Delivery) { rx = append(rx, dl) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := identity.DestinationHash(nil, "reticle", "plain")
	if d.Hash() != want || d.Identity() != nil {
		t.Fatalf("plain hash %s, want %s", d.Hash(), want)
	}
	if err := b.SendPlain(d.Hash(), []byte("in the clear"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	frames := ib.take()
	if len(frames) != 1 {
		t.Fatalf("%d frames", len(frames))
	}
	var p wire.Packet
	if err := p.UnmarshalBinary(frames[0]); err != nil {
		t.Fatal(err)
	}
	if p.DestinationType != wire.Plain || string(p.Data) != "in the clear" || p.TransportType != wire.Broadcast {
		t.Fatalf("sent packet %+v", p)
	}
	a.Inbound(ia, frames[0])
	if len(rx) != 1 || string(rx[0].Data) != "in the clear" || rx[0].Hops != 1 {
		t.Fatalf("delivered %+v", rx)
	}
	if len(ia.take()) != 0 {
		t.Fatal("plain packet was proven or answered")
	}
	// A SINGLE packet to the same hash is not for the PLAIN destination.
	q := p
	q.DestinationType = wire.Single
	raw, _ := q.Marshal()
	a.Inbound(ia, raw)
	if len(rx) != 1 {
		t.Fatal("single packet delivered to plain destination")
	}
	// Too large for one packet.
	if err := b.SendPlain(d.Hash(), make([]byte, wire.PlainMDU+1), SendOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize plain: %v", err)
	}
	if err := b.SendGroup(d.Hash(), make([]byte, 64), make([]byte, wire.MTU), SendOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize group: %v", err)
	}
}

func TestPlainAndGroupNotAnnounceable(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, _ := n.connect(a, b)
	plain, err := a.Register(DestinationConfig{Type: wire.Plain, App: "reticle", Aspects: []string{"plain"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(plain, nil); !errors.Is(err, ErrNotAnnounceable) {
		t.Fatalf("plain announce: %v", err)
	}
	id, key := groupFixture(t)
	group, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: key, App: "reticle", Aspects: []string{"group"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(group, nil); !errors.Is(err, ErrNotAnnounceable) {
		t.Fatalf("group announce: %v", err)
	}
	if len(ia.take()) != 0 {
		t.Fatal("something was sent")
	}
	if b.HasPath(plain.Hash()) || b.HasPath(group.Hash()) {
		t.Fatal("path learned")
	}
}

func TestGroupPlainConfigErrors(t *testing.T) {
	n := newTestNet(t)
	a := n.node(false)
	id, key := groupFixture(t)
	bad := []DestinationConfig{
		{Type: wire.Plain, Identity: id, App: "x"},
		{Type: wire.Plain, GroupKey: key, App: "x"},
		{Type: wire.Group, GroupKey: key, App: "x"},
		{Type: wire.Group, Identity: id, GroupKey: key[:10], App: "x"},
		{Type: wire.Group, Identity: id, App: "x"},
		{Type: wire.Group, Identity: id, GroupKey: key, App: "x", Ratchets: true},
		{Type: wire.Link, App: "x"},
	}
	for k, cfg := range bad {
		if _, err := a.Register(cfg); !errors.Is(err, ErrDestinationConfig) {
			t.Errorf("case %d: %v", k, err)
		}
	}
	if _, err := a.Register(DestinationConfig{Type: wire.Plain, App: "a.b"}); err == nil {
		t.Error("dot in app name accepted")
	}
	// The registered key is a copy: changing the caller's slice later does not matter.
	k2 := append([]byte(nil), key...)
	got := 0
	d, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: k2, App: "x", OnPacket: func(Delivery) { got++ }})
	if err != nil {
		t.Fatal(err)
	}
	k2[0] ^= 1
	b := n.node(false)
	n.connect(a, b)
	if err := b.SendGroup(d.Hash(), key, []byte("y"), SendOptions{}); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if got != 1 {
		t.Fatal("group packet not delivered")
	}
}

func TestGroupTransportedDropped(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, _ := n.connect(a, b)
	id, key := groupFixture(t)
	got := 0
	d, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: key, App: "reticle", Aspects: []string{"group"}, OnPacket: func(Delivery) { got++ }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := identity.NewToken(key)
	ct, _ := tok.Encrypt([]byte("far"))
	p := &wire.Packet{DestinationType: wire.Group, PacketType: wire.Data, DestinationHash: d.Hash(), Hops: 2, Data: ct}
	raw, _ := p.Marshal()
	a.Inbound(ia, raw)
	if got != 0 {
		t.Fatal("group packet with 2 hops delivered")
	}
	p.Hops = 1
	raw, _ = p.Marshal()
	a.Inbound(ia, raw)
	if got != 1 {
		t.Fatal("group packet with 1 hop not delivered")
	}
}

// FuzzGroupPlainInbound feeds arbitrary frames to a transport with GROUP
// and PLAIN destinations: nothing may panic, and GROUP deliveries only
// happen for tokens under the key.
func FuzzGroupPlainInbound(f *testing.F) {
	id, err := identity.Generate()
	if err != nil {
		f.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 64)
	gh, _ := identity.DestinationHash(id, "reticle", "group")
	ph, _ := identity.DestinationHash(nil, "reticle", "plain")
	tok, _ := identity.NewToken(key)
	ct, _ := tok.Encrypt([]byte("seed"))
	for _, p := range []*wire.Packet{
		{DestinationType: wire.Group, PacketType: wire.Data, DestinationHash: gh, Data: ct},
		{DestinationType: wire.Plain, PacketType: wire.Data, DestinationHash: ph, Data: []byte("plain")},
		{DestinationType: wire.Group, PacketType: wire.Data, DestinationHash: gh, Data: ct[:20]},
	} {
		raw, _ := p.Marshal()
		f.Add(raw)
	}
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n := newTestNet(t)
		a, b := n.node(false), n.node(false)
		ia, _ := n.connect(a, b)
		_, err := a.Register(DestinationConfig{Type: wire.Group, Identity: id, GroupKey: key, App: "reticle", Aspects: []string{"group"},
			OnPacket: func(dl Delivery) {
				if dl.Destination != gh {
					t.Fatalf("delivery to %s", dl.Destination)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Register(DestinationConfig{Type: wire.Plain, App: "reticle", Aspects: []string{"plain"}}); err != nil {
			t.Fatal(err)
		}
		a.Inbound(ia, raw)
	})
}
