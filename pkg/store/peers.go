package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Peer is an LXMF destination learned from its delivery announce.
type Peer struct {
	Hash        string `gorm:"primaryKey"` // lxmf.delivery hash, lowercase hex
	PublicKey   []byte // the announcing identity's 64-byte public key
	DisplayName string
	StampCost   int // stamp cost the peer requires of inbound messages; 0 for none
	Hops        int
	LastSeen    time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the peers table.
func (Peer) TableName() string { return "peers" }

// DefaultMaxPeers caps the peers table when Options.MaxPeers is not set.
const DefaultMaxPeers = 10_000

// UpsertPeer stores a peer, or updates the display name, stamp cost, hops and last seen time of a known
// one. The public key of a known peer is never replaced: the hash is derived from it. Past the cap, the
// least recently seen peers without a conversation or a contact entry are evicted, so an announce flood cannot grow the table
// without bound.
func (s *Store) UpsertPeer(ctx context.Context, p *Peer) error {
	if err := s.upsertPeer(ctx, p); err != nil {
		return err
	}
	return s.evictPeers(ctx)
}

func (s *Store) evictPeers(ctx context.Context) error {
	limit := s.maxPeers
	if limit <= 0 {
		limit = DefaultMaxPeers
	}
	var n int64
	db := s.db.WithContext(ctx)
	if err := db.Model(&Peer{}).Count(&n).Error; err != nil {
		return fmt.Errorf("count peers: %w", translate(err))
	}
	if n <= int64(limit) {
		return nil
	}
	err := db.Exec(`DELETE FROM peers WHERE hash IN (SELECT hash FROM peers
		WHERE hash NOT IN (SELECT peer FROM conversations) AND hash NOT IN (SELECT address FROM contacts)
		ORDER BY last_seen, hash LIMIT ?)`, n-int64(limit)).Error
	if err != nil {
		return fmt.Errorf("evict peers: %w", translate(err))
	}
	return nil
}

func (s *Store) upsertPeer(ctx context.Context, p *Peer) error {
	now := time.Now().UTC()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	p.UpdatedAt = now
	p.LastSeen = p.LastSeen.UTC()
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"display_name", "stamp_cost", "hops", "last_seen", "updated_at"}),
	}).Create(p).Error
	if err != nil {
		return fmt.Errorf("upsert peer %s: %w", p.Hash, translate(err))
	}
	return nil
}

// GetPeer returns the peer with the given hash, or ErrNotFound.
func (s *Store) GetPeer(ctx context.Context, hash string) (Peer, error) {
	var p Peer
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&p).Error; err != nil {
		return Peer{}, fmt.Errorf("get peer %s: %w", hash, translate(err))
	}
	return p, nil
}

// ListPeers returns every peer, most recently seen first; limit <= 0 means no limit.
func (s *Store) ListPeers(ctx context.Context, limit int) ([]Peer, error) {
	q := s.db.WithContext(ctx).Order("last_seen DESC").Order("hash")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []Peer
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list peers: %w", translate(err))
	}
	return out, nil
}

// PeerQuery selects a page of peers, most recently seen first: those after the Cursor peer (nil: from
// the first), matching Search (address, display name or contact name) when it is not empty.
type PeerQuery struct {
	Cursor *PeerCursor
	Search string
	Limit  int
}

// PeerCursor is the position after which a peers page starts.
type PeerCursor struct {
	LastSeen time.Time
	Hash     string
}

// ListPeerPage returns a page of peers and the cursor of the next page (nil at the end).
func (s *Store) ListPeerPage(ctx context.Context, q PeerQuery) ([]Peer, *PeerCursor, error) {
	if q.Limit <= 0 {
		return nil, nil, fmt.Errorf("list peers: limit %d", q.Limit)
	}
	d := s.db.WithContext(ctx).Order("last_seen DESC").Order("hash").Limit(q.Limit + 1)
	if c := q.Cursor; c != nil {
		d = d.Where("last_seen < ? OR (last_seen = ? AND hash > ?)", c.LastSeen.UTC(), c.LastSeen.UTC(), c.Hash)
	}
	if q.Search != "" {
		like := "%" + escapeLike(q.Search) + "%"
		l := s.likeOp()
		d = d.Where(`hash `+l+` ? ESCAPE '\' OR display_name `+l+` ? ESCAPE '\' OR
			hash IN (SELECT address FROM contacts WHERE name `+l+` ? ESCAPE '\')`, like, like, like)
	}
	var out []Peer
	if err := d.Find(&out).Error; err != nil {
		return nil, nil, fmt.Errorf("list peers: %w", translate(err))
	}
	var next *PeerCursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		last := out[len(out)-1]
		next = &PeerCursor{LastSeen: last.LastSeen, Hash: last.Hash}
	}
	return out, next, nil
}
