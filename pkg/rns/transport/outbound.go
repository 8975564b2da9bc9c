package transport

import (
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Outbound sends a packet built by a higher layer (for example the link
// layer), routing it as the reference's Transport.outbound does. via, when
// not nil, restricts sending to that interface.
func (t *Transport) Outbound(p *wire.Packet, via iface.Interface) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var st *ifState
	if via != nil {
		if st = t.ifs[via]; st == nil {
			return fmt.Errorf("outbound: interface %s not attached: %w", via.Name(), ErrNotSent)
		}
	}
	ok, err := t.outbound(p, st, t.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotSent
	}
	return nil
}

// outbound is Transport._outbound. With a known path to a SINGLE or LINK
// destination the packet goes out on the path's interface, inserted into
// transport (HEADER_2 with the next hop) when the destination is more than
// one hop away, or one hop away behind a shared instance. Otherwise it is broadcast on every interface that is up (or
// only on attached), announces with hops under the interface announce cap.
// Called with t.mu held.
func (t *Transport) outbound(p *wire.Packet, attached *ifState, now time.Time) (bool, error) {
	if p.Hops >= wire.MaxHops {
		return false, nil
	}
	if p.PacketType != wire.Announce && p.DestinationType != wire.Plain && p.DestinationType != wire.Group {
		if pe := t.paths[p.DestinationHash]; pe != nil {
			q := *p
			// Behind a shared instance a destination one hop away is
			// also inserted into transport, so the instance forwards it.
			if pe.hops > 1 || (pe.hops == 1 && t.attachedToShared()) {
				if q.HeaderType != wire.Header1 {
					return false, nil
				}
				q.HeaderType, q.TransportType, q.TransportID = wire.Header2, wire.Transport, pe.nextHop
			}
			raw, err := q.MarshalMTU(pe.st.i.MTU())
			if err != nil {
				return false, fmt.Errorf("outbound: %w", err)
			}
			pe.updated = now
			return t.transmit(pe.st, raw), nil
		}
	}
	raw, err := p.MarshalMTU(wire.MTU)
	if err != nil {
		return false, fmt.Errorf("outbound: %w", err)
	}
	hash := p.Hash()
	targets := t.order
	if attached != nil {
		targets = []*ifState{attached}
	}
	sent, stored := false, false
	for _, st := range targets {
		if st.i.State() != iface.StateUp {
			continue
		}
		if p.PacketType == wire.Announce && attached == nil && p.Hops > 0 {
			if !t.announceAllowed(st, p, raw, now) {
				continue
			}
		}
		if !stored {
			t.hashes.add(hash)
			stored = true
		}
		if t.transmit(st, raw) {
			sent = true
			if p.PacketType == wire.Announce {
				st.announcesOut++
			}
		}
	}
	return sent, nil
}

// announceAllowed applies the interface announce cap (Reticulum.ANNOUNCE_CAP,
// 2% of the bitrate): it reports whether the announce may go out now, and
// queues it otherwise. Called with t.mu held.
func (t *Transport) announceAllowed(st *ifState, p *wire.Packet, raw []byte, now time.Time) bool {
	if len(st.announceQueue) == 0 && now.After(st.announceAllowedAt) && st.i.Bitrate() > 0 {
		st.announceAllowedAt = now.Add(capWait(len(raw), st.i.Bitrate()))
		return true
	}
	if len(st.announceQueue) >= maxQueuedPerLink {
		return false
	}
	emitted := uint64(0)
	if len(p.Data) >= wire.PublicKeyLen+wire.NameHashLen+wire.RandomHashLen {
		var rb [wire.RandomHashLen]byte
		copy(rb[:], p.Data[wire.PublicKeyLen+wire.NameHashLen:])
		emitted = emittedOf(rb)
	}
	for k := range st.announceQueue {
		q := &st.announceQueue[k]
		if q.dest == p.DestinationHash {
			if emitted > q.emitted {
				q.queued, q.hops, q.emitted, q.raw = now, p.Hops, emitted, raw
			}
			return false
		}
	}
	st.announceQueue = append(st.announceQueue, queuedAnnounce{dest: p.DestinationHash, queued: now, hops: p.Hops, emitted: emitted, raw: raw})
	return false
}

// capWait is the time an announce of n bytes occupies under the cap.
func capWait(n, bitrate int) time.Duration {
	tx := float64(n*8) / float64(bitrate)
	return seconds(tx / announceCap)
}

// drainAnnounceQueues sends queued announces as the cap allows, lowest hop
// count first, then oldest (Interface.process_announce_queue). Called with
// t.mu held.
func (t *Transport) drainAnnounceQueues(now time.Time) {
	for _, st := range t.order {
		q := st.announceQueue[:0]
		for _, a := range st.announceQueue {
			if now.Sub(a.queued) <= queuedLife {
				q = append(q, a)
			}
		}
		st.announceQueue = q
		base := st.announceAllowedAt
		if floor := now.Add(-jobInterval); base.Before(floor) {
			base = floor
		}
		for len(st.announceQueue) > 0 && !base.After(now) {
			best := 0
			for k, a := range st.announceQueue {
				b := st.announceQueue[best]
				if a.hops < b.hops || (a.hops == b.hops && a.queued.Before(b.queued)) {
					best = k
				}
			}
			a := st.announceQueue[best]
			st.announceQueue = append(st.announceQueue[:best], st.announceQueue[best+1:]...)
			base = base.Add(capWait(len(a.raw), max(st.i.Bitrate(), 1)))
			st.announceAllowedAt = base
			if t.transmit(st, a.raw) {
				st.announcesOut++
			}
		}
	}
}
