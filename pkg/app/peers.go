package app

import (
	"context"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// PeerInfo is an LXMF peer as the UI and API show it.
type PeerInfo struct {
	Address     string    `json:"address"`
	DisplayName string    `json:"display_name"`
	LastSeen    time.Time `json:"last_seen"`
	Hops        int       `json:"hops"`
	StampCost   int       `json:"stamp_cost"`
}

// ListPeers returns the LXMF peers seen, most recently seen first.
func (a *App) ListPeers(ctx context.Context) ([]PeerInfo, error) {
	rows, err := a.st.ListPeers(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	out := make([]PeerInfo, 0, len(rows))
	for _, p := range rows {
		out = append(out, peerView(p))
	}
	return out, nil
}

func peerView(p store.Peer) PeerInfo {
	return PeerInfo{Address: p.Hash, DisplayName: p.DisplayName, LastSeen: p.LastSeen, Hops: p.Hops, StampCost: p.StampCost}
}

func routerPeer(p store.Peer) (router.Peer, error) {
	h, err := wire.ParseHash(p.Hash)
	if err != nil {
		return router.Peer{}, fmt.Errorf("peer hash: %w", err)
	}
	id, err := identity.FromPublicKey(p.PublicKey)
	if err != nil {
		return router.Peer{}, fmt.Errorf("peer key: %w", err)
	}
	return router.Peer{Hash: h, Identity: id, DisplayName: p.DisplayName, StampCost: p.StampCost, Hops: uint8(min(max(p.Hops, 0), 255)), Seen: p.LastSeen}, nil
}
