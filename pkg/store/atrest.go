package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// atRestRecord is the single row of at_rest_record.
type atRestRecord struct {
	ID        int `gorm:"primaryKey"`
	Data      []byte
	UpdatedAt time.Time
}

// TableName is the at-rest record table.
func (atRestRecord) TableName() string { return "at_rest_record" }

// LoadAtRestRecord returns the saved at-rest record (opaque bytes owned by pkg/integrity), or nil
// when none was saved.
func (s *Store) LoadAtRestRecord(ctx context.Context) ([]byte, error) {
	var row atRestRecord
	err := s.db.WithContext(ctx).Where("id = 1").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load at-rest record: %w", translate(err))
	}
	if row.Data == nil {
		row.Data = []byte{}
	}
	return row.Data, nil
}

// SaveAtRestRecord replaces the saved at-rest record.
func (s *Store) SaveAtRestRecord(ctx context.Context, b []byte) error {
	row := atRestRecord{ID: 1, Data: append([]byte{}, b...), UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"data", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save at-rest record: %w", translate(err))
	}
	return nil
}
