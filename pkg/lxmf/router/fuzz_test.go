package router

import (
	"testing"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
)

// FuzzInboundPacket feeds arbitrary plaintext to the delivery handler: it
// must never panic, and never prove (store) anything that is not a
// well-formed message addressed to us.
func FuzzInboundPacket(f *testing.F) {
	sender, err := identity.Generate()
	if err != nil {
		f.Fatal(err)
	}
	p := newPair(f, false, Options{})
	m := &lxmf.Message{Destination: p.b.r.Hash(), Timestamp: 1700000000.5, Title: []byte("t"), Content: []byte("c")}
	if err := m.Pack(sender); err != nil {
		f.Fatal(err)
	}
	opp, _ := m.Opportunistic()
	f.Add(opp)
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Add(append(make([]byte, 80), 0x94, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0, 0xc4, 0, 0x80))
	f.Fuzz(func(t *testing.T, data []byte) {
		proven := p.b.r.onPacket(transport.Delivery{Destination: p.b.r.Hash(), Data: data})
		if proven {
			if _, err := lxmf.UnpackOpportunistic(data, p.b.r.Hash(), p.b.r.opts.Limits); err != nil {
				t.Fatalf("proved a message that does not unpack: %v", err)
			}
		}
	})
}
