package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Attachment kinds.
const (
	KindFile  = "file"
	KindImage = "image"
	KindAudio = "audio"
)

// Attachment is one file, image or audio clip of a message. Its bytes live in a content-addressed file
// named by Hash (lowercase hex SHA-256) that the app keeps; many rows may point at one file.
type Attachment struct {
	ID         int64 `gorm:"primaryKey"`
	MessageRow int64 // messages.id
	Idx        int   // position in the message: files first, then the image, then the audio
	Kind       string
	Name       string
	Mime       string
	Codec      string // audio: the codec's name
	Hash       string
	Size       int64
}

// TableName is the attachments table.
func (Attachment) TableName() string { return "attachments" }

// MessageAttachments returns the attachments of the messages with the given row ids, at most perMessage
// of each, in order; total maps a row id to its full attachment count.
func (s *Store) MessageAttachments(ctx context.Context, rows []int64, perMessage int) (out []Attachment, total map[int64]int, err error) {
	total = map[int64]int{}
	if len(rows) == 0 {
		return nil, total, nil
	}
	type counted struct {
		Attachment
		Total int
	}
	var got []counted
	err = s.db.WithContext(ctx).Raw(`SELECT * FROM (
		SELECT a.*, ROW_NUMBER() OVER (PARTITION BY message_row ORDER BY idx) AS rn,
			COUNT(*) OVER (PARTITION BY message_row) AS total
		FROM attachments a WHERE message_row IN ?) AS t WHERE rn <= ? ORDER BY message_row, idx`, rows, perMessage).
		Scan(&got).Error
	if err != nil {
		return nil, nil, fmt.Errorf("message attachments: %w", translate(err))
	}
	out = make([]Attachment, len(got))
	for i, g := range got {
		out[i] = g.Attachment
		total[g.MessageRow] = g.Total
	}
	return out, total, nil
}

// GetAttachment returns attachment idx of the message with row id row, or ErrNotFound.
func (s *Store) GetAttachment(ctx context.Context, row int64, idx int) (Attachment, error) {
	var a Attachment
	if err := s.db.WithContext(ctx).Where("message_row = ? AND idx = ?", row, idx).Take(&a).Error; err != nil {
		return Attachment{}, fmt.Errorf("get attachment %d/%d: %w", row, idx, translate(err))
	}
	return a, nil
}

// AttachmentHashes returns every distinct attachment hash the rows point at (to find stray files).
func (s *Store) AttachmentHashes(ctx context.Context) (map[string]bool, error) {
	var hs []string
	if err := s.db.WithContext(ctx).Model(&Attachment{}).Distinct("hash").Pluck("hash", &hs).Error; err != nil {
		return nil, fmt.Errorf("attachment hashes: %w", translate(err))
	}
	out := make(map[string]bool, len(hs))
	for _, h := range hs {
		out[h] = true
	}
	return out, nil
}

// UnmigratedMessages returns up to limit messages whose fields still hold attachment bytes (rows written
// before attachments moved to files), oldest first.
func (s *Store) UnmigratedMessages(ctx context.Context, limit int) ([]Message, error) {
	var out []Message
	if err := s.db.WithContext(ctx).Where("fields_state = 0").Order("id").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("unmigrated messages: %w", translate(err))
	}
	return out, nil
}

// FieldsUpdate is what the app derived from a message's fields.
type FieldsUpdate struct {
	Fields     []byte // the fields without the attachment bytes
	Renderer   string
	ReplyTo    string
	ReactionTo string
	Reaction   string
	Meta       string
}

// MigrateFields replaces a message's fields with their decomposed form and records its attachments, in
// one transaction; the message is then fields_state 1.
func (s *Store) MigrateFields(ctx context.Context, row int64, u FieldsUpdate, atts []Attachment) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("message_row = ?", row).Delete(&Attachment{}).Error; err != nil {
			return err
		}
		for i := range atts {
			atts[i].ID, atts[i].MessageRow = 0, row
		}
		if len(atts) > 0 {
			if err := tx.CreateInBatches(atts, 100).Error; err != nil {
				return err
			}
		}
		return tx.Model(&Message{}).Where("id = ?", row).Updates(map[string]any{
			"fields": u.Fields, "renderer": u.Renderer, "reply_to": u.ReplyTo, "reaction_to": u.ReactionTo,
			"reaction": u.Reaction, "meta": u.Meta, "fields_state": 1,
		}).Error
	})
	if err != nil {
		return fmt.Errorf("migrate fields of message %d: %w", row, translate(err))
	}
	return nil
}
