package store

import (
	"context"
	"fmt"
	"time"
)

// Interface is a mesh interface the owner configured in the UI, started by the mesh node next to the ones
// given with --interface.
type Interface struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	URI       string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the interfaces table.
func (Interface) TableName() string { return "interfaces" }

// CreateInterface stores a new interface record; the name must be unique.
func (s *Store) CreateInterface(ctx context.Context, in *Interface) error {
	if err := s.db.WithContext(ctx).Create(in).Error; err != nil {
		return fmt.Errorf("create interface %q: %w", in.Name, translate(err))
	}
	return nil
}

// ListInterfaces returns every interface record ordered by id.
func (s *Store) ListInterfaces(ctx context.Context) ([]Interface, error) {
	var out []Interface
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list interfaces: %w", translate(err))
	}
	return out, nil
}

// DeleteInterface removes the interface with the given id, or returns ErrNotFound.
func (s *Store) DeleteInterface(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Delete(&Interface{}, id)
	if res.Error != nil {
		return fmt.Errorf("delete interface %d: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete interface %d: %w", id, ErrNotFound)
	}
	return nil
}

// GetInterface returns the interface record with the given id, or ErrNotFound.
func (s *Store) GetInterface(ctx context.Context, id int64) (Interface, error) {
	var in Interface
	res := s.db.WithContext(ctx).Limit(1).Find(&in, id)
	if res.Error != nil {
		return Interface{}, fmt.Errorf("get interface %d: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return Interface{}, fmt.Errorf("get interface %d: %w", id, ErrNotFound)
	}
	return in, nil
}

// UpdateInterface saves the name, URI and enabled flag of an existing record (zero values included),
// or returns ErrNotFound.
func (s *Store) UpdateInterface(ctx context.Context, in *Interface) error {
	in.UpdatedAt = time.Now().UTC()
	res := s.db.WithContext(ctx).Model(&Interface{}).Where("id = ?", in.ID).Updates(map[string]any{
		"name": in.Name, "uri": in.URI, "enabled": in.Enabled, "updated_at": in.UpdatedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("update interface %d: %w", in.ID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update interface %d: %w", in.ID, ErrNotFound)
	}
	return nil
}
