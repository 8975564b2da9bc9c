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

// UpsertPeer stores a peer, or updates the display name, stamp cost, hops and last seen time of a known
// one. The public key of a known peer is never replaced: the hash is derived from it.
func (s *Store) UpsertPeer(ctx context.Context, p *Peer) error {
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
