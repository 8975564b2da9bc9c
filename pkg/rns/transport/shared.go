package transport

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Shared-instance rules of the reference's Transport.py. Two roles:
//
// Serving: local programs attached to this node's shared instance arrive
// on "local client" interfaces (iface.IsLocalClient; the reference's
// local_client_interfaces). Their packets do not count a hop, their
// announces are rebroadcast once at once, every announce is copied to
// them at once, their path requests are answered or forwarded, and their
// HEADER_2 packets, packets addressed to them and proofs and link traffic
// for them are transported even when transport is disabled
// (from_local_client, for_local_client, proof_for_local_client,
// for_local_client_link in Transport._inbound).
//
// Attached: this node is a client of another program's shared instance
// (iface.IsSharedUpstream; Reticulum.is_connected_to_shared_instance).
// Packets from the instance do not count a hop, the instance does the
// packet filtering, and packets to a destination one hop away are inserted
// into transport with the next hop so the instance forwards them.

// markShared records the shared-instance role of a newly attached
// interface. Called with t.mu held.
func (t *Transport) markShared(st *ifState) {
	st.localClient = iface.IsLocalClient(st.i)
	st.upstream = iface.IsSharedUpstream(st.i)
	if st.localClient {
		t.nLocal++
	}
	if st.upstream {
		t.nUpstream++
	}
}

// unmarkShared undoes markShared for a detached interface. Called with
// t.mu held.
func (t *Transport) unmarkShared(st *ifState) {
	if st.localClient {
		t.nLocal--
	}
	if st.upstream {
		t.nUpstream--
	}
	for h, w := range t.pendingLocalPRs {
		if w == st {
			delete(t.pendingLocalPRs, h)
		}
	}
}

// attachedToShared reports whether this node is a client of a shared
// instance. Called with t.mu held.
func (t *Transport) attachedToShared() bool { return t.nUpstream > 0 }

// AttachedToSharedInstance reports whether this node is a client of
// another program's shared instance (Reticulum.is_connected_to_shared_instance).
func (t *Transport) AttachedToSharedInstance() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.attachedToShared()
}

// localFlags are the reference's per-packet local-client conditions.
type localFlags struct {
	from, forDest, forLink, proofFor bool
}

// routing reports whether transport handling applies to the packet.
func (f localFlags) routing(transport bool) bool {
	return transport || f.from || f.forDest || f.forLink
}

// localFlagsOf computes from_local_client, for_local_client,
// for_local_client_link and proof_for_local_client. Called with t.mu held.
func (t *Transport) localFlagsOf(st *ifState, p *wire.Packet) localFlags {
	f := localFlags{from: st.localClient}
	if t.nLocal == 0 {
		return f
	}
	if p.PacketType != wire.Announce {
		if pe := t.paths[p.DestinationHash]; pe != nil && pe.hops == 0 {
			f.forDest = true
		}
		if le := t.linkTable[p.DestinationHash]; le != nil {
			f.forLink = le.nhIf.localClient || le.rcvdIf.localClient
		}
	}
	if re := t.reverse[p.DestinationHash]; re != nil {
		f.proofFor = re.rcvd.localClient
	}
	return f
}

// relayPlainBroadcast sends a PLAIN broadcast from a local client to every
// other interface, and one from elsewhere to every local client, as
// received (path requests excepted; they are handled by path request
// logic). Called with t.mu held.
func (t *Transport) relayPlainBroadcast(st *ifState, p *wire.Packet, raw []byte) {
	if t.nLocal == 0 || p.DestinationType != wire.Plain || p.TransportType != wire.Broadcast || p.DestinationHash == t.prDest {
		return
	}
	for _, s := range t.order {
		if s == st || (!st.localClient && !s.localClient) {
			continue
		}
		t.transmit(s, raw)
	}
}

// copyAnnounceToLocalClients retransmits a newly accepted announce at once
// to every local client but the one it came from, in transport (HEADER_2
// with this node's id), hops as received. Called with t.mu held.
func (t *Transport) copyAnnounceToLocalClients(st *ifState, ann *wire.Packet, now time.Time) {
	if t.nLocal == 0 {
		return
	}
	for _, s := range t.order {
		if !s.localClient || s == st {
			continue
		}
		q := &wire.Packet{
			HeaderType: wire.Header2, ContextFlag: ann.ContextFlag, TransportType: wire.Transport,
			DestinationType: wire.Single, PacketType: wire.Announce, Hops: ann.Hops,
			TransportID: t.tid, DestinationHash: ann.DestinationHash, Context: wire.ContextNone, Data: ann.Data,
		}
		_, _ = t.outbound(q, s, now)
	}
}

// sendAnnounceEntryNow transmits an announce-table entry at once on all
// interfaces and leaves it in the table as done, for the reference's
// "announced immediately, but only one time" entries of local clients.
// Called with t.mu held.
func (t *Transport) sendAnnounceEntryNow(dest wire.Hash, ae *announceEntry, now time.Time) {
	ae.retries = pathfinderR + 1
	ae.retransmitAt = now.Add(pathfinderG)
	t.announces[dest] = ae
	t.stats.AnnouncesRebroadcast++
	_, _ = t.outbound(t.rebroadcast(ae), nil, now)
}

// requestPathOn sends a path request for dest on one interface (nil: all)
// with the given tag (Transport.request_path with on_interface). Called
// with t.mu held.
func (t *Transport) requestPathOn(dest wire.Hash, st *ifState, tag []byte, now time.Time) (bool, error) {
	data := make([]byte, 0, 2*wire.TruncatedHashLen+len(tag))
	data = append(data, dest[:]...)
	if t.opts.Transport {
		data = append(data, t.tid[:]...)
	}
	data = append(data, tag...)
	p := &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: wire.Plain,
		PacketType: wire.Data, DestinationHash: t.prDest, Context: wire.ContextNone, Data: data,
	}
	t.pathRequests[dest] = now
	return t.outbound(p, st, now)
}

// forwardPathRequest passes a path request this node cannot answer on:
// from a local client to every other interface, from elsewhere to every
// local client, under one fresh tag (Transport.path_request).
// Called with t.mu held.
func (t *Transport) forwardPathRequest(st *ifState, dest wire.Hash, now time.Time) {
	var tag [wire.TruncatedHashLen]byte
	if _, err := rand.Read(tag[:]); err != nil {
		t.log.Warn("path request tag", "error", fmt.Errorf("forward path request: %w", err))
		return
	}
	for _, s := range t.order {
		if s == st || (!st.localClient && !s.localClient) || s.i.State() != iface.StateUp {
			continue
		}
		_, _ = t.requestPathOn(dest, s, tag[:], now)
	}
}
