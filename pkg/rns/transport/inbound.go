package transport

import (
	"errors"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

var (
	errOversize       = errors.New("frame exceeds interface mtu")
	errIFACUnexpected = errors.New("ifac flag set on interface without ifac")
	errAnnounceType   = errors.New("announce for a destination type other than single")
)

// decoded is a received packet after the lock-free checks.
type decoded struct {
	p    wire.Packet
	hash wire.FullHash
	ann  *identity.Announce
}

// decode parses and, for announces, validates a frame without touching
// transport state. It is the part of inbound handling that may run in
// parallel on many interfaces.
func decode(raw []byte, mtu int) (*decoded, error) {
	if mtu > 0 && len(raw) > mtu {
		return nil, fmt.Errorf("%d bytes: %w", len(raw), errOversize)
	}
	d := new(decoded)
	if err := d.p.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	d.hash = d.p.Hash()
	if d.p.PacketType == wire.Announce && d.p.DestinationType != wire.Single {
		return nil, errAnnounceType
	}
	if d.p.PacketType == wire.Announce {
		if len(raw) > wire.MTU {
			return nil, fmt.Errorf("announce of %d bytes: %w", len(raw), errOversize)
		}
		a, err := identity.ValidateAnnounce(&d.p)
		if err != nil {
			return nil, err
		}
		d.ann = a
	}
	return d, nil
}

// Inbound implements iface.Handler: it processes one received frame. Bad
// input is counted on the interface and dropped; it never panics.
func (t *Transport) Inbound(i iface.Interface, raw []byte) {
	t.inbound(i, raw, false)
}

func (t *Transport) inbound(i iface.Interface, raw []byte, released bool) {
	var d *decoded
	var err error
	if released {
		// Held by ingress control and released: the access code is already off.
		d, err = decode(raw, i.MTU())
	} else {
		raw, d, err = t.prepare(i, raw)
	}
	t.commit(i, raw, d, err, released)
}

// commit processes a prepared frame under the transport lock (err from prepare counts it as malformed).
func (t *Transport) commit(i iface.Interface, raw []byte, d *decoded, err error, released bool) {
	var fx effects
	t.mu.Lock()
	st := t.ifs[i]
	switch {
	case st == nil:
		// Not attached (or already detached): drop silently.
	case err != nil:
		st.violations++
		t.stats.Malformed++
		if d == nil && errors.Is(err, identity.ErrSignature) {
			t.stats.AnnouncesInvalid++
		}
		t.drop(DropMalformed, "interface", i.Name(), "bytes", len(raw), "error", err)
	default:
		t.process(st, d, raw, released, &fx)
	}
	t.mu.Unlock()
	fx.run()
}

// filter is Transport.packet_filter: it drops packets for other transport
// instances, transported PLAIN and GROUP packets, invalid announces and
// duplicates. A client of a shared instance leaves filtering to the
// instance and passes everything.
func (t *Transport) filter(st *ifState, p *wire.Packet, hash wire.FullHash) bool {
	if t.attachedToShared() {
		return true
	}
	if p.HeaderType == wire.Header2 && p.PacketType != wire.Announce && p.TransportID != t.tid {
		return false
	}
	switch p.Context {
	case wire.ContextKeepalive, wire.ContextResourceReq, wire.ContextResourcePRF,
		wire.ContextResource, wire.ContextCacheRequest, wire.ContextChannel:
		return true
	}
	if p.DestinationType == wire.Plain || p.DestinationType == wire.Group {
		if p.PacketType == wire.Announce {
			st.violations++
			return false
		}
		if p.Hops > 1 {
			st.violations++
			return false
		}
		return true
	}
	if !t.hashes.has(hash) {
		return true
	}
	if p.PacketType == wire.Announce && p.DestinationType == wire.Single {
		return true
	}
	t.stats.Duplicates++
	return false
}

// process runs the reference's preprocess_inbound and _inbound on a decoded
// packet. Called with t.mu held.
func (t *Transport) process(st *ifState, d *decoded, raw []byte, released bool, fx *effects) {
	p := &d.p
	if !t.filter(st, p, d.hash) {
		st.filterHits++
		return
	}
	t.stats.PacketsIn++
	if !st.localClient && !st.upstream {
		// Packets from a local program or from the shared instance we are
		// attached to do not count a hop (Transport._inbound).
		p.Hops++
	}
	now := t.clock.Now()

	if p.PacketType == wire.Announce && d.ann != nil && !released {
		st.announcesIn++
		// Our own announces echoed back by a transport node do not count towards ingress control (the
		// reference counts them): a node that announces as its interface comes up, as Reticle does, would
		// otherwise trip the new-interface burst limit with its own echoes and hold its peers' announces
		// for the burst hold and penalty (about 35 s), which is what a user sees as "no peers yet".
		if _, own := t.dests[p.DestinationHash]; !own {
			st.ia.add(now)
		}
		if _, known := t.paths[p.DestinationHash]; !known {
			_, requested := t.pathRequests[p.DestinationHash]
			_, discovering := t.discoveryPRs[p.DestinationHash]
			shared := st.localClient || st.upstream // LocalInterface.should_ingress_limit is false
			if !requested && !discovering && !shared && st.shouldIngressLimit(&t.ic, now) {
				st.hold(&t.ic, p.DestinationHash, raw, p.Hops)
				t.stats.AnnouncesHeld++
				t.log.Debug("announce held by ingress control", "interface", st.i.Name(), "destination", p.DestinationHash, "hz", st.ia.hz(now))
				return
			}
		}
	}
	if p.DestinationHash == t.prDest && p.PacketType == wire.Data {
		t.handlePathRequest(st, p, fx)
		return
	}

	// Remember the hash unless the packet may still have to pass through us
	// on a link (reference: link table entries and link request proofs).
	_, relayedLink := t.linkTable[p.DestinationHash]
	lrProof := p.PacketType == wire.Proof && p.Context == wire.ContextLRProof
	if !relayedLink && !lrProof && !t.attachedToShared() {
		t.hashes.add(d.hash)
	}

	lf := t.localFlagsOf(st, p)
	t.relayPlainBroadcast(st, p, raw)
	routing := lf.routing(t.opts.Transport)
	if routing && p.PacketType != wire.Announce && (p.HeaderType == wire.Header2 || lf.forDest) {
		// A HEADER_1 packet for a destination on a local client counts as
		// addressed to us: the hop to the client was hidden from its sender.
		if p.HeaderType == wire.Header2 && p.TransportID != t.tid {
			return
		}
		t.forward(st, p, d.hash, now)
		// The reference continues with local handling; a packet in
		// transport for us is never for a local destination, except in
		// the degenerate case of a path through ourselves.
	}
	if routing && relayedLink && p.PacketType != wire.Announce &&
		p.PacketType != wire.LinkRequest && p.Context != wire.ContextLRProof {
		t.relayLinkPacket(st, p, d.hash, now)
		return
	}

	switch p.PacketType {
	case wire.Announce:
		if d.ann != nil {
			t.handleAnnounce(st, p, d.hash, d.ann, now, fx)
		}
	case wire.LinkRequest:
		if p.HeaderType == wire.Header1 || p.TransportID == t.tid {
			if dst, ok := t.dests[p.DestinationHash]; ok && dst.typ == wire.Single && t.opts.Links != nil {
				t.toLinks(p, d.hash, st, fx)
			}
		}
	case wire.Data:
		if p.DestinationType == wire.Link {
			if t.opts.Links != nil {
				t.toLinks(p, d.hash, st, fx)
			}
			return
		}
		// A local destination takes packets of its own type only
		// (Transport.inbound: destination.type == packet.destination_type).
		if dst, ok := t.dests[p.DestinationHash]; ok && dst.typ == p.DestinationType {
			t.deliver(st, dst, p, d.hash, fx)
		}
	case wire.Proof:
		if p.Context == wire.ContextLRProof || p.Context == wire.ContextResourcePRF || p.DestinationType == wire.Link {
			if p.Context == wire.ContextLRProof {
				if (t.opts.Transport || lf.from || lf.forLink) && t.relayLinkProof(st, p, d.hash) {
					return
				}
				t.hashes.add(d.hash)
			}
			if t.opts.Links != nil {
				t.toLinks(p, d.hash, st, fx)
			}
			return
		}
		t.handleProof(st, p, lf, now, fx)
	}
}

func (t *Transport) toLinks(p *wire.Packet, hash wire.FullHash, st *ifState, fx *effects) {
	h, i := t.opts.Links, st.i
	q := *p
	fx.add(func() { h.HandleLinkPacket(&q, hash, i) })
}
