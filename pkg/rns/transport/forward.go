package transport

import (
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// forward relays a HEADER_2 packet addressed to this transport instance
// towards its destination, rewriting the header as the reference's
// Transport._inbound does: with more than one hop remaining the transport
// id becomes the next hop; with one hop remaining the transport header is
// stripped (HEADER_1, BROADCAST). A reverse-table entry lets the proof find
// its way back; a link request gets a link-table entry instead. Called with t.mu held.
func (t *Transport) forward(st *ifState, p *wire.Packet, hash wire.FullHash, now time.Time) {
	pe := t.paths[p.DestinationHash]
	if pe == nil {
		t.log.Debug("no path for packet in transport", "destination", p.DestinationHash.String())
		return
	}
	q := *p
	switch {
	case pe.hops > 1:
		q.TransportID = pe.nextHop
	case pe.hops == 1:
		q.HeaderType, q.TransportType, q.TransportID = wire.Header1, wire.Broadcast, wire.Hash{}
	}
	if p.PacketType == wire.LinkRequest {
		t.recordLinkRequest(st, &q, pe, now)
	}
	raw, err := q.MarshalMTU(pe.st.i.MTU())
	if err != nil {
		st.violations++
		return
	}
	if p.PacketType != wire.LinkRequest {
		t.reverse[hash.Truncated()] = &reverseEntry{rcvd: st, out: pe.st, at: now}
	}
	t.transmit(pe.st, raw)
	pe.updated = now
	t.stats.Forwarded++
}

// transmit hands a raw packet to an interface. Interfaces queue without
// blocking, so this is safe under the lock.
func (t *Transport) transmit(st *ifState, raw []byte) bool {
	if st.ifac != nil {
		masked, err := st.ifac.Apply(raw)
		if err != nil {
			t.drop(DropIFACApply, "interface", st.i.Name(), "error", err)
			return false
		}
		raw = masked
	}
	if err := st.i.Send(raw); err != nil {
		t.drop(DropSendFailed, "interface", st.i.Name(), "bytes", len(raw), "error", err)
		return false
	}
	t.stats.PacketsOut++
	return true
}
