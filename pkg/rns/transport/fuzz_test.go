package transport

import (
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// seedFrames returns valid frames of every kind the transport handles.
func seedFrames(tb testing.TB) [][]byte {
	tb.Helper()
	id, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	nh, _ := identity.NameHash("reticle", "fuzz")
	ann, err := id.NewAnnounce(identity.AnnounceOptions{NameHash: nh, AppData: []byte("x")})
	if err != nil {
		tb.Fatal(err)
	}
	annRaw, _ := ann.Marshal()
	ann2 := *ann
	ann2.HeaderType, ann2.TransportType, ann2.TransportID, ann2.Hops = wire.Header2, wire.Transport, wire.Hash{1}, 3
	ann2Raw, _ := ann2.Marshal()
	ct, _ := id.Encrypt([]byte("hello"), nil)
	data := &wire.Packet{DestinationType: wire.Single, PacketType: wire.Data, DestinationHash: ann.DestinationHash, Data: ct}
	dataRaw, _ := data.Marshal()
	proof := &wire.Packet{DestinationType: wire.Single, PacketType: wire.Proof, DestinationHash: data.Hash().Truncated(), Data: make([]byte, 64)}
	proofRaw, _ := proof.Marshal()
	prName, _ := identity.NameHash("rnstransport", "path", "request")
	pr := &wire.Packet{DestinationType: wire.Plain, PacketType: wire.Data, DestinationHash: wire.DestinationHash(prName, nil),
		Data: append(append([]byte{}, ann.DestinationHash[:]...), make([]byte, 16)...)}
	prRaw, _ := pr.Marshal()
	link := &wire.Packet{DestinationType: wire.Link, PacketType: wire.Data, DestinationHash: wire.Hash{9}, Data: []byte{1, 2, 3}}
	linkRaw, _ := link.Marshal()
	return [][]byte{annRaw, ann2Raw, dataRaw, proofRaw, prRaw, linkRaw}
}

// FuzzInbound feeds arbitrary frames to the transport's inbound entry point
// in transport mode; nothing may panic and the tables stay bounded.
func FuzzInbound(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0x40, 0x00})
	n := newTestNet(f)
	tr := n.node(true, func(o *Options) { o.MaxPaths = 64; o.HashlistSize = 256; o.MaxKnown = 64 })
	peer := n.node(false)
	in, _ := n.connect(tr, peer)
	f.Fuzz(func(t *testing.T, frame []byte) {
		tr.Inbound(in, frame)
		n.clock.Advance(300 * time.Millisecond)
		tr.RunJobs()
		in.take()
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if len(tr.paths) > 64 || tr.hashes.len() > 256 || len(tr.known) > 64 {
			t.Fatalf("tables unbounded: %d paths, %d hashes, %d known", len(tr.paths), tr.hashes.len(), len(tr.known))
		}
	})
}
