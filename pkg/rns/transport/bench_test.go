package transport

import (
	"encoding/binary"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// BenchmarkInboundData measures decode + duplicate filter + dispatch of
// unique DATA packets for a destination that is not local (no decryption).
func BenchmarkInboundData(b *testing.B) {
	n := newTestNet(b)
	tr := n.node(false)
	in, _ := n.connect(tr, n.node(false))
	p := &wire.Packet{DestinationType: wire.Single, PacketType: wire.Data, DestinationHash: wire.Hash{7}, Data: make([]byte, 200)}
	raw, _ := p.Marshal()
	frame := make([]byte, len(raw))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		copy(frame, raw)
		binary.BigEndian.PutUint64(frame[wire.HeaderMinSize:], uint64(i))
		tr.Inbound(in, frame)
	}
	b.StopTimer()
	if c := tr.Counters(); c.PacketsIn == 0 {
		b.Fatal("nothing processed")
	}
}

// BenchmarkInboundDuplicate measures dropping an already seen packet.
func BenchmarkInboundDuplicate(b *testing.B) {
	n := newTestNet(b)
	tr := n.node(false)
	in, _ := n.connect(tr, n.node(false))
	p := &wire.Packet{DestinationType: wire.Single, PacketType: wire.Data, DestinationHash: wire.Hash{7}, Data: make([]byte, 200)}
	raw, _ := p.Marshal()
	tr.Inbound(in, raw)
	b.ReportAllocs()
	for b.Loop() {
		tr.Inbound(in, raw)
	}
}

// BenchmarkInboundDeliver measures a DATA packet for a local destination:
// decode, dedup, decrypt and hand-off (without the proof).
func BenchmarkInboundDeliver(b *testing.B) {
	n := newTestNet(b)
	tr := n.node(false)
	in, _ := n.connect(tr, n.node(false))
	id, _ := identity.Generate()
	d, err := tr.Register(DestinationConfig{Identity: id, App: "bench", Aspects: []string{"x"}, OnPacket: func(Delivery) {}})
	if err != nil {
		b.Fatal(err)
	}
	ct, _ := id.Encrypt(make([]byte, 100), nil)
	p := &wire.Packet{DestinationType: wire.Single, PacketType: wire.Data, DestinationHash: d.Hash(), Data: ct}
	raw, _ := p.Marshal()
	before := tr.Counters().Delivered
	b.ReportAllocs()
	for b.Loop() {
		tr.Inbound(in, raw)
		tr.mu.Lock()
		tr.hashes.remove(p.Hash()) // deliver the same packet again
		tr.mu.Unlock()
	}
	b.StopTimer()
	if tr.Counters().Delivered == before {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkAnnounceProcessing measures validating announces of distinct
// destinations and learning their paths (signature check included).
func BenchmarkAnnounceProcessing(b *testing.B) {
	const distinct = 2048
	frames := announceFrames(b, distinct)
	n := newTestNet(b)
	tr := n.node(true, func(o *Options) { o.Ingress.Disabled = true })
	in, _ := n.connect(tr, n.node(false))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%distinct == 0 && i > 0 {
			b.StopTimer()
			tr.mu.Lock()
			clear(tr.paths)
			clear(tr.known)
			clear(tr.announces)
			tr.mu.Unlock()
			b.StartTimer()
		}
		tr.Inbound(in, frames[i%distinct])
	}
	b.StopTimer()
	if tr.Counters().AnnouncesValid == 0 {
		b.Fatal("no announce accepted")
	}
}

// BenchmarkAnnounceIngestParallel is BenchmarkAnnounceProcessing through Parallel, as a node's
// interfaces hand frames up: one interface, signatures checked on one worker per core. Compare its
// announces/s with cores x identity's BenchmarkVerify rate (the target is 90 %).
func BenchmarkAnnounceIngestParallel(b *testing.B) {
	const distinct = 4096
	frames := announceFrames(b, distinct)
	n := newTestNet(b)
	tr := n.node(true, func(o *Options) { o.Ingress.Disabled = true })
	in, _ := n.connect(tr, n.node(false))
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		// Each round ingests every frame once into empty tables and waits for the last one.
		b.StopTimer()
		tr.mu.Lock()
		clear(tr.paths)
		clear(tr.known)
		clear(tr.announces)
		tr.mu.Unlock()
		p := NewParallel(tr, 0)
		b.StartTimer()
		for _, f := range frames {
			p.Inbound(in, f)
		}
		p.Close()
		total += distinct
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "announces/s")
	if tr.Counters().AnnouncesValid == 0 {
		b.Fatal("no announce accepted")
	}
}

// announceFrames makes n announce frames of distinct destinations.
func announceFrames(b *testing.B, n int) [][]byte {
	b.Helper()
	frames := make([][]byte, n)
	nh, _ := identity.NameHash("bench", "announce")
	for k := range frames {
		id, _ := identity.Generate()
		p, err := id.NewAnnounce(identity.AnnounceOptions{NameHash: nh, AppData: []byte("bench")})
		if err != nil {
			b.Fatal(err)
		}
		frames[k], _ = p.Marshal()
	}
	return frames
}
