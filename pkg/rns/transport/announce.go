package transport

import (
	"bytes"
	"sort"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Announce is a validated announce as handed to announce handlers.
type Announce struct {
	// Destination is the announced destination hash.
	Destination wire.Hash
	// Identity is the announcing identity (public key only).
	Identity *identity.Identity
	// NameHash is the destination's name hash.
	NameHash wire.NameHash
	// AppData is the announce's application data, or nil.
	AppData []byte
	// Ratchet is the announced ratchet public key, or nil.
	Ratchet []byte
	// Hops is the number of hops the announce travelled.
	Hops uint8
	// PathResponse is true when the announce answered a path request.
	PathResponse bool
	// Interface is the name of the receiving interface.
	Interface string
	// PacketHash is the announce packet's hash.
	PacketHash wire.FullHash
}

type announceHandler struct {
	filter        *wire.NameHash
	pathResponses bool
	fn            func(Announce)
}

// HandleAnnounces registers fn for announces whose destination name matches
// aspectFilter ("lxmf.delivery"; empty means all). Path responses are passed
// only when pathResponses is set, as with the reference's
// receive_path_responses. It returns a function that removes the handler.
// fn runs outside the transport lock on the receiving interface's goroutine
// and may call back into the transport; it must not block for long (hand
// slow work to another goroutine), or that interface stops reading.
func (t *Transport) HandleAnnounces(aspectFilter string, pathResponses bool, fn func(Announce)) (remove func()) {
	h := &announceHandler{pathResponses: pathResponses, fn: fn}
	if aspectFilter != "" {
		nh := identity.NameHashOf(aspectFilter)
		h.filter = &nh
	}
	t.mu.Lock()
	t.handlers = append(t.handlers, h)
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for k, x := range t.handlers {
			if x == h {
				t.handlers = append(t.handlers[:k], t.handlers[k+1:]...)
				return
			}
		}
	}
}

// remember stores the identity behind a destination, refusing a different
// public key for a known destination (Identity.validate_announce).
func (t *Transport) remember(dest wire.Hash, a *identity.Announce, now time.Time) bool {
	if k := t.known[dest]; k != nil {
		if !bytes.Equal(k.id.PublicKey(), a.Identity.PublicKey()) {
			return false
		}
		k.appData, k.seen = a.AppData, now
		if a.Ratchet != nil {
			k.ratchet, k.ratchetAt = a.Ratchet, now
		}
		return true
	}
	if len(t.known) >= t.opts.MaxKnown && !t.evictOldestKnownLocked() {
		return false
	}
	t.known[dest] = &knownDest{id: a.Identity, appData: a.AppData, ratchet: a.Ratchet, seen: now}
	if a.Ratchet != nil {
		t.known[dest].ratchetAt = now
	}
	return true
}

// emittedOf returns the emission timestamp of a random blob.
func emittedOf(b [wire.RandomHashLen]byte) uint64 { return wire.RandomHashTimestamp(b) }

func containsBlob(blobs [][wire.RandomHashLen]byte, b [wire.RandomHashLen]byte) bool {
	for _, x := range blobs {
		if x == b {
			return true
		}
	}
	return false
}

// handleAnnounce is the announce branch of the reference's
// Transport._inbound: learn or update the path, schedule a rebroadcast in
// transport mode, answer waiting path requests, and notify handlers.
// Called with t.mu held.
func (t *Transport) handleAnnounce(st *ifState, p *wire.Packet, hash wire.FullHash, a *identity.Announce, now time.Time, fx *effects) {
	dest := p.DestinationHash
	if !t.remember(dest, a, now) {
		st.violations++
		t.stats.AnnouncesInvalid++
		return
	}
	t.stats.AnnouncesValid++
	if _, local := t.dests[dest]; local {
		return
	}
	receivedFrom := dest
	if p.HeaderType == wire.Header2 {
		receivedFrom = p.TransportID
		if ae := t.announces[dest]; t.opts.Transport && ae != nil {
			if p.Hops-1 == ae.hops {
				ae.localRebroadcasts++
				if ae.retries > 0 && ae.localRebroadcasts >= localRebroadcastsMax {
					delete(t.announces, dest)
				}
			}
			if p.Hops-1 == ae.hops+1 && ae.retries > 0 && now.Before(ae.retransmitAt) {
				delete(t.announces, dest)
			}
		}
	}

	emitted := emittedOf(a.RandomHash)
	blob := a.RandomHash
	pe := t.paths[dest]
	var blobs [][wire.RandomHashLen]byte
	shouldAdd := false
	if pe == nil {
		shouldAdd = true
	} else {
		blobs = pe.randomBlobs
		if p.Hops <= pe.hops {
			var timebase uint64
			for _, b := range blobs {
				timebase = max(timebase, emittedOf(b))
			}
			if !containsBlob(blobs, blob) && emitted > timebase {
				shouldAdd = true
			}
		} else {
			var pathEmitted uint64
			for _, b := range blobs {
				pathEmitted = max(pathEmitted, emittedOf(b))
				if pathEmitted >= emitted {
					break
				}
			}
			switch {
			case !now.Before(pe.expires):
				shouldAdd = !containsBlob(blobs, blob)
			case emitted > pathEmitted:
				shouldAdd = !containsBlob(blobs, blob)
			case emitted == pathEmitted:
				shouldAdd = pe.unresponsive
			}
		}
	}
	if !shouldAdd {
		return
	}

	rateBlocked := p.Context != wire.ContextPathResponse && t.rateBlocked(dest, now)
	if !containsBlob(blobs, blob) {
		blobs = append(blobs, blob)
		if len(blobs) > maxRandomBlobs {
			blobs = blobs[len(blobs)-maxRandomBlobs:]
		}
	}
	ann := *p
	ann.Data = append([]byte(nil), p.Data...)
	var immediate *announceEntry
	switch {
	case (t.opts.Transport || st.localClient) && p.Context != wire.ContextPathResponse:
		if rateBlocked {
			t.log.Debug("announce rebroadcast blocked by rate limit", "destination", dest.String())
			break
		}
		ae := &announceEntry{
			created: now, retransmitAt: now.Add(seconds(t.rand() * pathfinderRW)),
			receivedFrom: receivedFrom, hops: p.Hops, pkt: &ann,
		}
		if st.localClient {
			// A local program's announce goes out at once, one time.
			immediate = ae
		} else {
			t.announces[dest] = ae
		}
	case st.localClient && p.Context == wire.ContextPathResponse:
		// A local program answered a path request we passed on to it.
		if _, waiting := t.pendingLocalPRs[dest]; waiting {
			delete(t.pendingLocalPRs, dest)
			immediate = &announceEntry{created: now, receivedFrom: receivedFrom, hops: p.Hops, pkt: &ann}
		}
	}
	if dpr := t.discoveryPRs[dest]; dpr != nil {
		delete(t.discoveryPRs, dest)
		for _, rs := range dpr.requesters {
			if _, ok := t.ifs[rs.i]; ok {
				t.sendPathResponse(&ann, p.Hops, rs, now)
			}
		}
	}
	if pe == nil && len(t.paths) >= t.opts.MaxPaths {
		t.evictOldestPath()
	}
	t.paths[dest] = &pathEntry{
		updated: now, nextHop: receivedFrom, hops: p.Hops, expires: now.Add(pathExpiry),
		randomBlobs: blobs, st: st, announce: &ann,
	}
	t.log.Debug("path learned", "destination", dest.String(), "hops", p.Hops, "via", receivedFrom.String(), "interface", st.i.Name())
	t.copyAnnounceToLocalClients(st, &ann, now)
	if immediate != nil {
		t.sendAnnounceEntryNow(dest, immediate, now)
	}

	ev := Announce{
		Destination: dest, Identity: a.Identity, NameHash: a.NameHash, AppData: a.AppData,
		Ratchet: a.Ratchet, Hops: p.Hops, PathResponse: p.Context == wire.ContextPathResponse,
		Interface: st.i.Name(), PacketHash: hash,
	}
	for _, h := range t.handlers {
		if h.filter != nil && *h.filter != a.NameHash {
			continue
		}
		if ev.PathResponse && !h.pathResponses {
			continue
		}
		fn := h.fn
		fx.add(func() { fn(ev) })
	}
}

// rateBlocked applies the per-destination announce rate limit
// (Transport._inbound, announce_rate_table). Called with t.mu held.
func (t *Transport) rateBlocked(dest wire.Hash, now time.Time) bool {
	if t.rate.Disabled {
		return false
	}
	re := t.rates[dest]
	if re == nil {
		t.rates[dest] = &rateEntry{last: now, timestamps: []time.Time{now}}
		return false
	}
	re.timestamps = append(re.timestamps, now)
	if len(re.timestamps) > maxRateTimestamps {
		re.timestamps = re.timestamps[len(re.timestamps)-maxRateTimestamps:]
	}
	if !now.After(re.blockedUntil) {
		return true
	}
	if now.Sub(re.last) < t.rate.Target {
		re.violations++
	} else {
		re.violations = max(0, re.violations-1)
	}
	if re.violations > t.rate.Grace {
		re.blockedUntil = re.last.Add(t.rate.Target + t.rate.Penalty)
		return true
	}
	re.last = now
	return false
}

// rebroadcast builds the HEADER_2 announce the reference sends when
// retransmitting an announce-table entry.
func (t *Transport) rebroadcast(ae *announceEntry) *wire.Packet {
	ctx := wire.ContextNone
	if ae.blockRebroadcasts {
		ctx = wire.ContextPathResponse
	}
	return &wire.Packet{
		HeaderType: wire.Header2, ContextFlag: ae.pkt.ContextFlag, TransportType: wire.Transport,
		DestinationType: wire.Single, PacketType: wire.Announce, Hops: ae.hops,
		TransportID: t.tid, DestinationHash: ae.pkt.DestinationHash, Context: ctx, Data: ae.pkt.Data,
	}
}

// announceJobs retransmits due announce-table entries (Transport.jobs).
// Called with t.mu held.
func (t *Transport) announceJobs(now time.Time) {
	type out struct {
		p  *wire.Packet
		st *ifState
	}
	var outgoing []out
	for dest, ae := range t.announces {
		switch {
		case ae.retries > 0 && ae.retries >= localRebroadcastsMax:
			delete(t.announces, dest)
		case ae.retries > pathfinderR:
			delete(t.announces, dest)
		case now.After(ae.retransmitAt):
			ae.retransmitAt = now.Add(pathfinderG + seconds(pathfinderRW))
			ae.retries++
			if _, ok := t.known[dest]; !ok {
				delete(t.announces, dest)
				continue
			}
			outgoing = append(outgoing, out{t.rebroadcast(ae), ae.attached})
			if held := t.heldAnnounces[dest]; held != nil {
				delete(t.heldAnnounces, dest)
				t.announces[dest] = held
			}
		}
	}
	sort.SliceStable(outgoing, func(i, j int) bool { return outgoing[i].p.Hops < outgoing[j].p.Hops })
	for _, o := range outgoing {
		if o.p.Context == wire.ContextPathResponse {
			t.stats.PathResponsesSent++
		} else {
			t.stats.AnnouncesRebroadcast++
		}
		_, _ = t.outbound(o.p, o.st, now)
	}
}
