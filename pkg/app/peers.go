package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// PeerInfo is an LXMF peer as the UI and API show it.
type PeerInfo struct {
	Address string `json:"address"`
	// DisplayName is the name to show: the owner's contact name when set, else the announced name.
	DisplayName   string    `json:"display_name"`
	AnnouncedName string    `json:"announced_name"`
	Contact       bool      `json:"contact"`
	Favourite     bool      `json:"favourite"`
	Aspects       []string  `json:"aspects"` // announced aspects seen: lxmf.delivery
	LastSeen      time.Time `json:"last_seen"`
	Hops          int       `json:"hops"`
	StampCost     int       `json:"stamp_cost"`
}

// PeerPage is a page of peers, most recently seen first; NextCursor is nil on the last page.
type PeerPage struct {
	Items      []PeerInfo `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// PeerQuery selects a page of peers: after Cursor (from a previous page's next_cursor), matching
// Search (address or display name) when set.
type PeerQuery struct {
	Cursor string
	Search string
	Limit  int
}

// ListPeers returns a page of the LXMF peers seen, most recently seen first.
func (a *App) ListPeers(ctx context.Context, q PeerQuery) (PeerPage, error) {
	sq := store.PeerQuery{Limit: ClampLimit(q.Limit), Search: strings.TrimSpace(q.Search)}
	if len(sq.Search) > maxSearch {
		return PeerPage{}, fmt.Errorf("%w: search is limited to %d bytes", ErrInvalidCursor, maxSearch)
	}
	if q.Cursor != "" {
		c, err := parsePeerCursor(q.Cursor)
		if err != nil {
			return PeerPage{}, err
		}
		sq.Cursor = c
	}
	rows, next, err := a.st.ListPeerPage(ctx, sq)
	if err != nil {
		return PeerPage{}, fmt.Errorf("list peers: %w", err)
	}
	page := PeerPage{Items: make([]PeerInfo, len(rows))}
	for i, p := range rows {
		page.Items[i] = a.peerView(p)
	}
	if next != nil {
		c := base64.RawURLEncoding.EncodeToString([]byte(next.LastSeen.UTC().Format(time.RFC3339Nano) + " " + next.Hash))
		page.NextCursor = &c
	}
	return page, nil
}

func parsePeerCursor(s string) (*store.PeerCursor, error) {
	bad := fmt.Errorf("%w: use a next_cursor from a previous page", ErrInvalidCursor)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	ts, hash, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		return nil, bad
	}
	if _, err := ParseAddress(hash); err != nil {
		return nil, bad
	}
	return &store.PeerCursor{LastSeen: t, Hash: hash}, nil
}

// peerView is a peer as the API shows it, under its contact name when it has one.
func (a *App) peerView(p store.Peer) PeerInfo {
	name, c, isContact := a.contacts.name(p.Hash, p.DisplayName)
	return PeerInfo{Address: p.Hash, DisplayName: name, AnnouncedName: cleanText(p.DisplayName),
		Contact: isContact, Favourite: c.Favourite, Aspects: []string{"lxmf.delivery"},
		LastSeen: p.LastSeen, Hops: p.Hops, StampCost: p.StampCost}
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
