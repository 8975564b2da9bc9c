package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Block is a blocked identity.
type Block struct {
	IdentityHash string `gorm:"primaryKey"` // lowercase hex
	Address      string // the LXMF address it was blocked by
	CreatedAt    time.Time
}

// TableName is the blocks table.
func (Block) TableName() string { return "blocks" }

// MaxBlocks bounds the blocks table.
const MaxBlocks = 10_000

// ErrTooMany means a bounded table is full.
var ErrTooMany = errors.New("too many rows")

// AddBlock blocks an identity (blocking it again keeps the first row).
func (s *Store) AddBlock(ctx context.Context, b Block) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Block{}).Count(&n).Error; err != nil {
		return fmt.Errorf("add block: %w", err)
	}
	if n >= MaxBlocks {
		return fmt.Errorf("add block: %w", ErrTooMany)
	}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&b).Error; err != nil {
		return fmt.Errorf("add block: %w", err)
	}
	return nil
}

// RemoveBlock unblocks an identity; ErrNotFound when it was not blocked.
func (s *Store) RemoveBlock(ctx context.Context, identityHash string) error {
	res := s.db.WithContext(ctx).Where("identity_hash = ?", identityHash).Delete(&Block{})
	if res.Error != nil {
		return fmt.Errorf("remove block: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ListBlocks returns every blocked identity, newest first (at most MaxBlocks).
func (s *Store) ListBlocks(ctx context.Context) ([]Block, error) {
	var bs []Block
	if err := s.db.WithContext(ctx).Order("created_at DESC").Limit(MaxBlocks).Find(&bs).Error; err != nil {
		return nil, fmt.Errorf("list blocks: %w", err)
	}
	return bs, nil
}
