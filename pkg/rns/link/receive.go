package link

import (
	"bytes"
	"crypto/ed25519"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// validateProof handles the link request proof on the initiator
// (Link.validate_proof).
func (l *Link) validateProof(p *wire.Packet, from transport.Interface) {
	var fx effects
	defer func() { fx.run() }()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initiator || l.status != StatusPending {
		return
	}
	n := len(p.Data)
	if n != proofLen && n != proofLen+wire.LinkMTUSize {
		return
	}
	mode := modeDefault
	mtu := 0
	var sigb []byte
	if n > proofLen {
		var err error
		if mtu, mode, err = wire.ParseLinkSignalling(p.Data[proofLen:]); err != nil {
			return
		}
		sigb = p.Data[proofLen:]
	}
	if mode != modeDefault {
		return
	}
	peerPub := p.Data[wire.SignatureLen:proofLen]
	destPub := l.destID.PublicKey()
	signed := make([]byte, 0, wire.TruncatedHashLen+wire.LinkECPubSize+wire.LinkMTUSize)
	signed = append(signed, l.id[:]...)
	signed = append(signed, peerPub...)
	signed = append(signed, destPub[keyHalf:]...)
	signed = append(signed, sigb...)
	if !l.destID.Verify(p.Data[:wire.SignatureLen], signed) {
		l.m.log.Debug("invalid link proof signature", "link", l.id.String())
		return
	}
	if err := l.handshake(peerPub); err != nil {
		l.closeLocked(ReasonTimeout, &fx)
		return
	}
	now := l.m.clock.Now()
	l.rtt = max(now.Sub(l.requestTime), time.Microsecond)
	l.attached = from
	l.remote = l.destID
	l.peerSig = ed25519.PublicKey(destPub[keyHalf:])
	if mtu == 0 {
		mtu = wire.MTU
	}
	l.mtu, l.mdu = mtu, mduFor(mtu)
	l.lastIn = now
	l.activateLocked(now, &fx)
	rttData := msgpack.Float(l.rtt.Seconds()).Encode()
	if _, err := l.sendLocked(wire.Data, wire.ContextLRRTT, rttData, false, false); err != nil {
		l.m.log.Debug("sending link rtt failed", "link", l.id.String(), "error", err)
	}
}

// receive handles a packet on an established (or handshaking) link
// (Link.__receive).
func (l *Link) receive(p *wire.Packet, hash wire.FullHash, from transport.Interface) {
	var fx effects
	defer func() { fx.run() }()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == StatusClosed || l.status == StatusPending {
		return
	}
	if l.initiator && p.Context == wire.ContextKeepalive && bytes.Equal(p.Data, []byte{0xFF}) {
		return
	}
	if from != l.attached {
		l.m.log.Debug("link packet on unexpected interface", "link", l.id.String())
		return
	}
	now := l.m.clock.Now()
	l.lastIn = now
	if p.Context != wire.ContextKeepalive {
		l.lastData = now
	}
	if l.status == StatusStale {
		l.status = StatusActive
	}
	if p.PacketType == wire.Proof {
		switch p.Context {
		case wire.ContextResourcePRF:
			l.resourceProofLocked(p.Data, &fx)
		case wire.ContextNone:
			l.packetProofLocked(p.Data, now)
		}
		return
	}
	if p.PacketType != wire.Data {
		return
	}
	switch p.Context {
	case wire.ContextKeepalive:
		if !l.initiator && bytes.Equal(p.Data, []byte{0xFF}) && !now.Before(l.lastOut.Add(l.keepalive)) {
			_, _ = l.sendLocked(wire.Data, wire.ContextKeepalive, []byte{0xFE}, true, true)
		}
		return
	case wire.ContextResource:
		l.resourcePartLocked(p.Data, now, &fx)
		return
	case wire.ContextCacheRequest:
		if len(p.Data) == wire.FullHashLen {
			var h wire.FullHash
			copy(h[:], p.Data)
			if d, ok := l.proofs[h]; ok {
				_, _ = l.sendLocked(wire.Proof, wire.ContextResourcePRF, d, true, false)
			}
		}
		return
	}
	if l.token == nil {
		return
	}
	pt, err := l.token.Decrypt(p.Data)
	if err != nil {
		l.m.log.Debug("undecryptable link packet", "link", l.id.String(), "context", int(p.Context))
		return
	}
	switch p.Context {
	case wire.ContextNone:
		if l.proveAll {
			if confirm := l.confirm; confirm != nil {
				fx.add(func() { l.proveIf(confirm(l, pt), hash) })
			} else {
				l.proveLocked(hash)
			}
		}
		if cb := l.cb.Packet; cb != nil {
			fx.add(func() { cb(l, pt) })
		}
	case wire.ContextLRRTT:
		if !l.initiator && l.status == StatusHandshake {
			v, err := msgpack.DecodeValue(pt, msgpack.Limits{MaxSize: 64, MaxItems: 1})
			f, ok := v.AsNumber()
			if err != nil || !ok {
				return
			}
			l.rtt = max(now.Sub(l.requestTime), time.Duration(f*float64(time.Second)))
			l.activateLocked(now, &fx)
		}
	case wire.ContextLinkClose:
		if bytes.Equal(pt, l.id[:]) {
			reason := ReasonInitiatorClosed
			if l.initiator {
				reason = ReasonDestinationClosed
			}
			l.closeLocked(reason, &fx)
		}
	case wire.ContextLinkIdentify:
		l.identifiedLocked(pt, &fx)
	case wire.ContextRequest:
		l.requestLocked(pt, hash.Truncated(), &fx)
	case wire.ContextResponse:
		l.responseLocked(pt, &fx)
	case wire.ContextResourceAdv:
		l.advertisementLocked(pt, now, &fx)
	case wire.ContextResourceReq:
		l.partRequestLocked(pt, hash, now, &fx)
	case wire.ContextResourceHMU:
		l.hashmapUpdateLocked(pt, now, &fx)
	case wire.ContextResourceICL:
		l.cancelIncomingLocked(pt, &fx)
	case wire.ContextResourceRCL:
		l.rejectedOutgoingLocked(pt, &fx)
	}
}

// identifiedLocked handles LINKIDENTIFY on the responder.
func (l *Link) identifiedLocked(pt []byte, fx *effects) {
	if l.initiator || len(pt) != wire.PublicKeyLen+wire.SignatureLen {
		return
	}
	pub, sig := pt[:wire.PublicKeyLen], pt[wire.PublicKeyLen:]
	id, err := identity.FromPublicKey(pub)
	if err != nil {
		return
	}
	if !id.Verify(sig, append(append([]byte(nil), l.id[:]...), pub...)) {
		return
	}
	if l.remote == nil {
		l.remote = id
		if cb := l.cb.RemoteIdentified; cb != nil {
			fx.add(func() { cb(l, id) })
		}
	}
}
