package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Setting is one key/value pair of instance-wide state.
type Setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

// TableName is the settings table.
func (Setting) TableName() string { return "settings" }

// GetSetting returns the value stored under key, or ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var row Setting
	if err := s.db.WithContext(ctx).Where("key = ?", key).Take(&row).Error; err != nil {
		return "", fmt.Errorf("get setting %q: %w", key, translate(err))
	}
	return row.Value, nil
}

// SetSetting stores value under key, replacing any earlier value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	row := Setting{Key: key, Value: value, UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, translate(err))
	}
	return nil
}
