package transport

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// discoveryPR is a path request this node waits to answer once the path is
// learned.
type discoveryPR struct {
	timeout    time.Time
	requesters []*ifState
}

// tagSet remembers path request tags in two bounded generations
// (Transport.discovery_pr_tags).
type tagSet struct {
	limit     int
	cur, prev map[string]struct{}
}

func newTagSet(limit int) *tagSet { return &tagSet{limit: limit, cur: map[string]struct{}{}} }

// addNew adds tag and reports whether it was new.
func (s *tagSet) addNew(tag string) bool {
	if _, ok := s.cur[tag]; ok {
		return false
	}
	if _, ok := s.prev[tag]; ok {
		return false
	}
	if len(s.cur) >= s.limit {
		s.prev, s.cur = s.cur, map[string]struct{}{}
	}
	s.cur[tag] = struct{}{}
	return true
}

// PathRequestDestination returns the PLAIN destination hash that path
// requests are addressed to ("rnstransport.path.request").
func (t *Transport) PathRequestDestination() wire.Hash { return t.prDest }

// RequestPath broadcasts a path request for dest on every interface
// (Transport.request_path): destination hash, then this node's transport id
// when in transport mode, then a random 16-byte tag.
func (t *Transport) RequestPath(dest wire.Hash) error {
	var tag [wire.TruncatedHashLen]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return fmt.Errorf("request path: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, err := t.requestPathOn(dest, nil, tag[:], t.clock.Now())
	if err != nil {
		return fmt.Errorf("request path: %w", err)
	}
	if !ok {
		return fmt.Errorf("request path: %w", ErrNotSent)
	}
	return nil
}

// handlePathRequest parses a path request (Transport.path_request_handler)
// and answers it. Called with t.mu held.
func (t *Transport) handlePathRequest(st *ifState, p *wire.Packet, fx *effects) {
	const hl = wire.TruncatedHashLen
	data := p.Data
	if len(data) < hl {
		st.violations++
		return
	}
	dest, _ := wire.HashFromBytes(data[:hl])
	var requestor *wire.Hash
	var tag []byte
	switch {
	case len(data) > 2*hl:
		r, _ := wire.HashFromBytes(data[hl : 2*hl])
		requestor, tag = &r, data[2*hl:]
	case len(data) > hl:
		tag = data[hl:]
	default:
		st.violations++ // tagless path request
		return
	}
	if len(tag) > hl {
		tag = tag[:hl]
		st.violations++
	}
	if !t.prTags.addNew(string(dest[:]) + string(tag)) {
		return
	}
	st.pathRequestsIn++
	t.stats.PathRequestsIn++
	now := t.clock.Now()

	if t.nLocal > 0 {
		if pe := t.paths[dest]; pe != nil && pe.st.localClient {
			// The destination lives on a local program: remember who
			// asked, so its path response is passed on at once.
			t.pendingLocalPRs[dest] = st
		}
	}
	if d := t.dests[dest]; d != nil {
		if d.typ != wire.Single {
			// GROUP and PLAIN destinations are never announced, so there is no path to answer with;
			// a remote node must not be able to make us log warnings by asking.
			t.log.Debug("ignoring path request for a local destination that cannot announce", "destination", dest.String())
			return
		}
		t.log.Debug("answering path request for local destination", "destination", dest.String(), "interface", st.i.Name())
		i := st.i
		fx.add(func() {
			if err := t.announce(d, nil, true, i); err != nil {
				t.log.Warn("path response failed", "destination", dest.String(), "error", err)
			}
		})
		return
	}
	pe := t.paths[dest]
	switch {
	case (t.opts.Transport || st.localClient) && pe != nil:
	case st.localClient || t.nLocal > 0:
		// Unknown here: ask the rest of the network for a local program,
		// or the local programs for the network.
		t.log.Debug("forwarding path request", "destination", dest.String(), "from_local_client", st.localClient)
		t.forwardPathRequest(st, dest, now)
		return
	default:
		return
	}
	if requestor != nil && pe.nextHop == *requestor {
		return
	}
	retransmitAt := now.Add(pathRequestGrace)
	if st.localClient || pe.st.localClient {
		retransmitAt = now
	}
	if cur := t.announces[dest]; cur != nil {
		t.heldAnnounces[dest] = cur
	}
	t.announces[dest] = &announceEntry{
		created: now, retransmitAt: retransmitAt, retries: pathfinderR,
		receivedFrom: pe.nextHop, hops: pe.hops, pkt: pe.announce, blockRebroadcasts: true, attached: st,
	}
}

// sendPathResponse answers a waiting discovery path request at once.
// Called with t.mu held.
func (t *Transport) sendPathResponse(ann *wire.Packet, hops uint8, st *ifState, now time.Time) {
	ae := &announceEntry{hops: hops, pkt: ann, blockRebroadcasts: true}
	t.stats.PathResponsesSent++
	_, _ = t.outbound(t.rebroadcast(ae), st, now)
}
