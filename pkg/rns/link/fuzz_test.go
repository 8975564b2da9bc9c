package link

import (
	"bytes"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func FuzzParseAdvertisement(f *testing.F) {
	v := loadVectorsF(f)
	for _, a := range v.Advertisements {
		b, _ := hexDecode(a.Packed)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAdvertisement(b)
		if err != nil {
			return
		}
		if a.TransferSize > 3*MaxSegmentSize || a.SegmentIndex < 1 || a.SegmentIndex > a.TotalSegments ||
			len(a.Hashmap)%mapHashLen != 0 || len(a.Hashmap)/mapHashLen > a.Parts {
			t.Fatalf("bounds not enforced: %+v", a)
		}
		again, err := ParseAdvertisement(a.Marshal())
		if err != nil || again.Hash != a.Hash || !bytes.Equal(again.Hashmap, a.Hashmap) {
			t.Fatalf("re-marshalled advertisement does not parse back: %v", err)
		}
	})
}

// FuzzLinkPacket feeds arbitrary packets to both ends of an active link,
// optionally encrypted with the link key so the inner parsers are reached.
func FuzzLinkPacket(f *testing.F) {
	var got []*Resource
	n := 0
	p := newPair(f, 500, Options{MaxResourceSize: 1 << 16}, acceptAll(&got, &n))
	la, lb := p.open(Callbacks{})
	adv := (&Advertisement{TransferSize: 1000, DataSize: 900, Parts: 3, SegmentIndex: 1, TotalSegments: 1, Flags: 1, Hashmap: make([]byte, 12)}).Marshal()
	for _, s := range []struct {
		ctx  byte
		pt   byte
		enc  bool
		data []byte
	}{
		{byte(wire.ContextNone), 0, true, []byte("hi")},
		{byte(wire.ContextRequest), 0, true, []byte{0x93, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xc0}},
		{byte(wire.ContextResponse), 0, true, []byte{0x92, 0xc4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xc0}},
		{byte(wire.ContextResourceAdv), 0, true, adv},
		{byte(wire.ContextResourceReq), 0, true, append([]byte{0xff, 1, 2, 3, 4}, make([]byte, 40)...)},
		{byte(wire.ContextResourceHMU), 0, true, append(make([]byte, 32), 0x92, 0x01, 0xc4, 4, 1, 2, 3, 4)},
		{byte(wire.ContextResource), 0, false, []byte("part")},
		{byte(wire.ContextKeepalive), 0, false, []byte{0xff}},
		{byte(wire.ContextLinkIdentify), 0, true, make([]byte, 128)},
		{byte(wire.ContextLRRTT), 0, true, []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}},
		{byte(wire.ContextResourcePRF), 3, false, make([]byte, 64)},
		{byte(wire.ContextLRProof), 3, false, make([]byte, 99)},
		{byte(wire.ContextCacheRequest), 0, false, make([]byte, 32)},
	} {
		f.Add(s.ctx, s.pt, s.enc, false, s.data)
	}
	f.Fuzz(func(t *testing.T, ctx, pt byte, enc, toA bool, data []byte) {
		if len(data) == 0 || byte(wire.Context(ctx)) == byte(wire.ContextLinkClose) {
			return
		}
		l, m, via := lb, p.b, p.ib
		if toA {
			l, m, via = la, p.a, p.ia
		}
		if enc {
			l.mu.Lock()
			tok := l.token
			l.mu.Unlock()
			if tok == nil {
				return
			}
			ct, err := tok.Encrypt(data)
			if err != nil {
				t.Fatal(err)
			}
			data = ct
		}
		q := &wire.Packet{
			HeaderType: wire.Header1, DestinationType: wire.Link, PacketType: wire.PacketType(pt % 4),
			DestinationHash: la.ID(), Context: wire.Context(ctx), Data: data, Hops: 1,
		}
		m.HandleLinkPacket(q, q.Hash(), via)
		p.pump()
	})
}

func loadVectorsF(f *testing.F) *vectors {
	v, err := readVectors()
	if err != nil {
		f.Fatal(err)
	}
	return v
}
