package transport

import (
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Link transport constants (RNS/Link.py, RNS/Transport.py).
const (
	linkEstablishmentPerHop = 6 * time.Second   // Link.ESTABLISHMENT_TIMEOUT_PER_HOP
	linkTimeout             = 900 * time.Second // Transport.LINK_TIMEOUT: STALE_TIME (2 x 360 s) x 1.25
	linkProofMin            = wire.SignatureLen + wire.LinkECPubSize/2
)

// linkEntry is one row of the link table a transport node keeps for links
// it relays (Transport.link_table).
type linkEntry struct {
	updated      time.Time
	nextHop      wire.Hash
	nhIf         *ifState
	remHops      uint8
	rcvdIf       *ifState
	hops         uint8
	dest         wire.Hash
	validated    bool
	proofTimeout time.Time
}

// recordLinkRequest adds a link-table entry for a link request being
// forwarded, clamping the MTU signalling to the smaller of the two
// interfaces as the reference does; q's data may be rewritten. Called with
// t.mu held.
func (t *Transport) recordLinkRequest(rcvd *ifState, q *wire.Packet, pe *pathEntry, now time.Time) {
	if len(q.Data) == wire.LinkECPubSize+wire.LinkMTUSize {
		if mtu, mode, err := wire.ParseLinkSignalling(q.Data[wire.LinkECPubSize:]); err == nil {
			if limit := min(pe.st.i.MTU(), rcvd.i.MTU()); limit < mtu {
				if sb, err := wire.LinkSignalling(limit, mode); err == nil {
					q.Data = append(append([]byte(nil), q.Data[:wire.LinkECPubSize]...), sb[:]...)
				}
			}
		}
	}
	extra := time.Duration(0)
	if br := pe.st.i.Bitrate(); br > 0 {
		extra = seconds(float64(8*wire.MTU) / float64(br))
	}
	timeout := now.Add(extra + linkEstablishmentPerHop*time.Duration(max(1, int(pe.hops))))
	t.linkTable[wire.LinkID(q)] = &linkEntry{
		updated: now, nextHop: pe.nextHop, nhIf: pe.st, remHops: pe.hops, rcvdIf: rcvd,
		hops: q.Hops, dest: q.DestinationHash, proofTimeout: timeout,
	}
}

// relayLinkPacket moves a packet on a relayed link to the opposite side of
// the link-table entry when the hop count matches (Transport._inbound, link
// transport handling). It reports whether the packet belonged to a relayed
// link. Called with t.mu held.
func (t *Transport) relayLinkPacket(st *ifState, p *wire.Packet, hash wire.FullHash, now time.Time) bool {
	le := t.linkTable[p.DestinationHash]
	if le == nil {
		return false
	}
	if !le.validated {
		st.violations++
		return true
	}
	var out *ifState
	switch {
	case le.nhIf == le.rcvdIf:
		if p.Hops == le.remHops || p.Hops == le.hops {
			out = le.nhIf
		}
	case st == le.nhIf:
		if p.Hops == le.remHops {
			out = le.rcvdIf
		}
	case st == le.rcvdIf:
		if p.Hops == le.hops {
			out = le.nhIf
		}
	}
	if out == nil {
		return true
	}
	t.hashes.add(hash)
	if raw, err := p.MarshalMTU(out.i.MTU()); err == nil {
		t.transmit(out, raw)
		t.stats.Forwarded++
	}
	le.updated = now
	return true
}

// relayLinkProof forwards a link request proof back towards the link's
// initiator once its signature checks out against the destination's known
// identity. It reports whether the proof belonged to a relayed link.
// Called with t.mu held.
func (t *Transport) relayLinkProof(st *ifState, p *wire.Packet, hash wire.FullHash) bool {
	le := t.linkTable[p.DestinationHash]
	if le == nil {
		return false
	}
	if p.Hops != le.remHops || st != le.nhIf {
		return true
	}
	n := len(p.Data)
	if n != linkProofMin && n != linkProofMin+wire.LinkMTUSize {
		st.violations++
		return true
	}
	k := t.known[le.dest]
	if k == nil {
		return true
	}
	pub := k.id.PublicKey()
	signed := make([]byte, 0, wire.TruncatedHashLen+wire.LinkECPubSize+wire.LinkMTUSize)
	signed = append(signed, p.DestinationHash[:]...)
	signed = append(signed, p.Data[wire.SignatureLen:linkProofMin]...)
	signed = append(signed, pub[wire.HalfKeyLen:]...)
	signed = append(signed, p.Data[linkProofMin:]...)
	if !k.id.Verify(p.Data[:wire.SignatureLen], signed) {
		st.violations++
		return true
	}
	t.hashes.add(hash)
	le.validated = true
	if raw, err := p.MarshalMTU(le.rcvdIf.i.MTU()); err == nil {
		t.transmit(le.rcvdIf, raw)
		t.stats.Forwarded++
	}
	return true
}

// cullLinks drops stale and unproven relayed links. Called with t.mu held.
func (t *Transport) cullLinks(now time.Time) {
	for id, le := range t.linkTable {
		if le.validated && now.Sub(le.updated) > linkTimeout {
			delete(t.linkTable, id)
		} else if !le.validated && now.After(le.proofTimeout) {
			delete(t.linkTable, id)
		}
	}
}
