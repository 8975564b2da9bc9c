package propnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// PeerStore is the part of the node's storage peering needs; a Store that
// also implements it enables syncing to ServerOptions.Peers.
type PeerStore interface {
	// Since returns held entries received after the given time, oldest
	// first, at most limit.
	Since(ctx context.Context, after time.Time, limit int) ([]Entry, error)
	// PeerSynced returns how far a peer was synced (zero time: never).
	PeerSynced(ctx context.Context, peer wire.Hash) (time.Time, error)
	// SetPeerSynced records how far a peer was synced.
	SetPeerSynced(ctx context.Context, peer wire.Hash, upTo time.Time) error
}

// ErrPeer means a peer sync could not run or was refused.
var ErrPeer = errors.New("peer sync failed")

// maxPeeringCost is LXMRouter.MAX_PEERING_COST: keys above it are not made.
const maxPeeringCost = 26

// peerOffer bounds one sync to a peer.
const peerOffer = 1024

// SyncPeers offers the messages received since the last sync to each
// static peer (LXMPeer.sync: /offer with a peering key, then one resource
// with the wanted messages). Peers without a path are asked for one and
// tried on the next round. It returns the first error.
func (s *Server) SyncPeers(ctx context.Context) error {
	ps, ok := s.st.(PeerStore)
	if !ok || len(s.opts.Peers) == 0 {
		return nil
	}
	var first error
	for _, p := range s.opts.Peers {
		if err := s.syncPeer(ctx, ps, p); err != nil {
			s.log.Info("propagation peer sync failed", "peer", p.String(), "error", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func (s *Server) peeringKey(ctx context.Context, peer wire.Hash, peerIdentity wire.Hash, cost int) ([]byte, error) {
	s.mu.Lock()
	key, ok := s.peerKeys[peer]
	s.mu.Unlock()
	if ok {
		return key, nil
	}
	own := s.opts.Identity.Hash()
	material := append(append([]byte{}, peerIdentity[:]...), own[:]...)
	wb, err := lxmf.StampWorkblock(material, lxmf.WorkblockRoundsPeering)
	if err != nil {
		return nil, err
	}
	key, _, err = lxmf.GenerateStamp(ctx, wb, cost, nil)
	if err != nil {
		return nil, fmt.Errorf("peering key: %w", err)
	}
	s.mu.Lock()
	s.peerKeys[peer] = key
	s.mu.Unlock()
	return key, nil
}

func (s *Server) syncPeer(ctx context.Context, ps PeerStore, peer wire.Hash) error {
	id, appData, known := s.tr.Recall(peer)
	if !known || !s.tr.HasPath(peer) {
		_ = s.tr.RequestPath(peer)
		return fmt.Errorf("%w: no path to %s yet", ErrPeer, peer)
	}
	ad, err := lxmf.ParsePropagationNodeAppData(appData)
	if err != nil || !ad.Enabled {
		return fmt.Errorf("%w: %s is not an enabled propagation node", ErrPeer, peer)
	}
	if ad.PeeringCost > maxPeeringCost {
		return fmt.Errorf("%w: peering cost %d above %d", ErrPeer, ad.PeeringCost, maxPeeringCost)
	}
	since, err := ps.PeerSynced(ctx, peer)
	if err != nil {
		return err
	}
	entries, err := ps.Since(ctx, since, peerOffer)
	if err != nil {
		return err
	}
	// Offer what the peer accepts (stamp value, per-message and sync
	// limits, as LXMPeer.sync prepares an offer).
	minCost := max(0, ad.StampCost-ad.StampFlexibility)
	const perMessage, initial = 16, 24
	total := initial
	var offer []Entry
	upTo := since
	for _, e := range entries {
		size := len(e.Data) + perMessage
		if e.StampValue < minCost || (ad.TransferLimit > 0 && float64(size) > ad.TransferLimit*1000) {
			upTo = e.ReceivedAt
			continue
		}
		if ad.SyncLimit > 0 && float64(total+size) >= ad.SyncLimit*1000 {
			break
		}
		total += size
		offer = append(offer, e)
		upTo = e.ReceivedAt
	}
	if len(offer) == 0 {
		if upTo.After(since) {
			return ps.SetPeerSynced(ctx, peer, upTo)
		}
		return nil
	}
	key, err := s.peeringKey(ctx, peer, id.Hash(), ad.PeeringCost)
	if err != nil {
		return err
	}
	l, err := s.links.Open(peer, link.Callbacks{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPeer, err)
	}
	defer func() { _ = l.Close() }()
	select {
	case <-l.Established():
	case <-l.Done():
		return fmt.Errorf("%w: link closed", ErrPeer)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(peerLinkWait):
		return fmt.Errorf("%w: link not established", ErrPeer)
	}
	if err := l.Identify(s.opts.Identity); err != nil {
		return fmt.Errorf("%w: %w", ErrPeer, err)
	}
	ids := make([]wire.FullHash, len(offer))
	for i, e := range offer {
		ids[i] = e.TransientID
	}
	rr, err := l.Request(PathOffer, msgpack.Array(msgpack.Bin(key), idsValue(ids)), link.RequestOptions{MaxResponseSize: 64 * maxIDs})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPeer, err)
	}
	resp, err := rr.Wait(ctx)
	if err != nil {
		return fmt.Errorf("%w: offer: %w", ErrPeer, err)
	}
	var wanted [][]byte
	switch b, isBool := resp.AsBool(); {
	case isBool && !b:
	case isBool && b:
		for _, e := range offer {
			wanted = append(wanted, e.Data)
		}
	case resp.Kind() == msgpack.KindArray:
		want, err := parseIDs(resp)
		if err != nil {
			return err
		}
		set := make(map[wire.FullHash]bool, len(want))
		for _, w := range want {
			set[w] = true
		}
		for _, e := range offer {
			if set[e.TransientID] {
				wanted = append(wanted, e.Data)
			}
		}
	default:
		if code, ok := ParseResponseCode(resp); ok {
			return fmt.Errorf("%w: offer refused with 0x%x", ErrPeer, code)
		}
		return fmt.Errorf("%w: offer response: %w", ErrPeer, ErrRequest)
	}
	if len(wanted) > 0 {
		res, err := l.SendResource(lxmf.PackPropagationContainer(lxmf.Timestamp(s.opts.Clock.Now()), wanted...), link.ResourceOptions{})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPeer, err)
		}
		select {
		case <-res.Done():
		case <-ctx.Done():
			res.Cancel()
			return ctx.Err()
		}
		if res.Err() != nil {
			return fmt.Errorf("%w: transfer: %w", ErrPeer, res.Err())
		}
	}
	s.log.Info("propagation peer synced", "peer", peer.String(), "offered", len(offer), "sent", len(wanted))
	return ps.SetPeerSynced(ctx, peer, upTo)
}

// peerLinkWait bounds the wait for a link to a peer.
const peerLinkWait = 20 * time.Second
