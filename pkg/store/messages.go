package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Message directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Message states. Outbound messages move queued -> sending -> sent -> delivered | failed; inbound
// messages are stored as received.
const (
	StateQueued    = "queued"
	StateSending   = "sending"
	StateSent      = "sent"
	StateDelivered = "delivered"
	StateFailed    = "failed"
	StateReceived  = "received"
)

// Message is one LXMF message, inbound or outbound. Outbound rows in a pending state are the send queue.
type Message struct {
	ID            int64  `gorm:"primaryKey"`
	MessageID     string // LXMF message id, lowercase hex of 32 bytes
	Direction     string // DirectionIn or DirectionOut
	Peer          string // the other side's lxmf.delivery hash, lowercase hex
	Title         []byte
	Content       []byte
	Fields        []byte  // the fields map as packed msgpack, nil for none
	Packed        []byte  // the signed packed message (direct form)
	Timestamp     float64 // LXMF timestamp, Unix seconds
	State         string
	Method        string // opportunistic, direct or propagated
	Attempts      int
	NextAttemptAt int64 // Unix milliseconds; when the queue should look at the message next
	Error         string
	Verified      bool // inbound: the signature was checked against the sender's known identity
	Read          bool // inbound: the owner has seen it
	Renderer      string
	ReplyTo       string // LXMF id of the message this one replies to, or empty
	ReactionTo    string // LXMF id of the message this reaction is for; empty for an ordinary message
	Reaction      string // the reaction's emoji
	Meta          string // JSON the app derives from the fields (quote, raw field summary); bounded
	// FieldsState is 1 once attachment bytes live in content-addressed files (Fields then holds only
	// the rest), 0 for a row written before that, whose Fields are as received.
	FieldsState int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the messages table.
func (Message) TableName() string { return "messages" }

// pendingStates are the outbound states the send queue still works on.
var pendingStates = []string{StateQueued, StateSending, StateSent}

// InsertMessage stores a message with its attachments (each pointing at a stored file) and moves its
// conversation forward, in one transaction. A message already stored with the same message id and
// direction is left as it is: inserted is then false and err nil, so a duplicate delivery is a no-op.
func (s *Store) InsertMessage(ctx context.Context, m *Message, atts ...Attachment) (inserted bool, err error) {
	if m.Title == nil {
		m.Title = []byte{}
	}
	if m.Content == nil {
		m.Content = []byte{}
	}
	if m.Direction == DirectionOut {
		m.Read = true
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "message_id"}, {Name: "direction"}},
			DoNothing: true,
		}).Create(m)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		inserted = true
		for i := range atts {
			atts[i].ID, atts[i].MessageRow = 0, m.ID
		}
		if len(atts) > 0 {
			if err := tx.CreateInBatches(atts, 100).Error; err != nil {
				return err
			}
		}
		if m.ReactionTo != "" {
			return nil
		}
		unread := 0
		if m.Direction == DirectionIn && !m.Read {
			unread = 1
		}
		return tx.Exec(`INSERT INTO conversations (peer, last_id, unread, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (peer) DO UPDATE SET last_id = `+s.greatest()+`(conversations.last_id, excluded.last_id),
			unread = conversations.unread + excluded.unread, updated_at = excluded.updated_at`,
			m.Peer, m.ID, unread, m.CreatedAt.UTC()).Error
	})
	if err != nil {
		return false, fmt.Errorf("insert message %s: %w", m.MessageID, translate(err))
	}
	return inserted, nil
}

// GetMessage returns the message with the given id and direction, or ErrNotFound.
func (s *Store) GetMessage(ctx context.Context, messageID, direction string) (Message, error) {
	var m Message
	err := s.db.WithContext(ctx).Where("message_id = ? AND direction = ?", messageID, direction).Take(&m).Error
	if err != nil {
		return Message{}, fmt.Errorf("get message %s: %w", messageID, translate(err))
	}
	return m, nil
}

// ListMessages returns the messages exchanged with peer (every peer when empty), oldest first; limit <= 0
// means no limit.
func (s *Store) ListMessages(ctx context.Context, peer string, limit int) ([]Message, error) {
	q := s.db.WithContext(ctx).Order("id")
	if peer != "" {
		q = q.Where("peer = ?", peer)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []Message
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list messages: %w", translate(err))
	}
	return out, nil
}

// DueMessages returns outbound messages still pending whose next attempt is at or before now (Unix
// milliseconds), earliest first, at most limit.
func (s *Store) DueMessages(ctx context.Context, nowMillis int64, limit int) ([]Message, error) {
	var out []Message
	err := s.db.WithContext(ctx).
		Where("direction = ? AND state IN ? AND next_attempt_at <= ?", DirectionOut, pendingStates, nowMillis).
		Order("next_attempt_at").Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", translate(err))
	}
	return out, nil
}

// NextAttemptAt returns the earliest next attempt (Unix milliseconds) of a pending outbound message;
// ok is false when nothing is pending.
func (s *Store) NextAttemptAt(ctx context.Context) (at int64, ok bool, err error) {
	var v *int64
	err = s.db.WithContext(ctx).Model(&Message{}).
		Where("direction = ? AND state IN ?", DirectionOut, pendingStates).
		Select("MIN(next_attempt_at)").Scan(&v).Error
	if err != nil {
		return 0, false, fmt.Errorf("next attempt: %w", translate(err))
	}
	if v == nil {
		return 0, false, nil
	}
	return *v, true, nil
}

// MessageUpdate is a change of an outbound message's delivery state. Every field is written, zero values
// included.
type MessageUpdate struct {
	State         string
	Attempts      int
	NextAttemptAt int64
	Error         string
	// Method, when not empty, is the delivery method the message changes to.
	Method string
}

// ErrorCancelled is the error of an outbound message the owner cancelled. The router's later updates
// of a cancelled message are ignored, so a cancel wins over an attempt already under way.
const ErrorCancelled = "cancelled"

// UpdateOutbound sets the delivery state of an outbound message, or returns ErrNotFound. A delivered
// message drops its packed copy: nothing sends it again, and the rest of the row shows it. A cancelled
// message keeps its state (the update is skipped, without error).
func (s *Store) UpdateOutbound(ctx context.Context, messageID string, u MessageUpdate) error {
	set := map[string]any{
		"state": u.State, "attempts": u.Attempts, "next_attempt_at": u.NextAttemptAt,
		"error": u.Error, "updated_at": time.Now().UTC(),
	}
	if u.State == StateDelivered {
		set["packed"] = nil
	}
	if u.Method != "" {
		set["method"] = u.Method
	}
	res := s.db.WithContext(ctx).Model(&Message{}).
		Where("message_id = ? AND direction = ? AND NOT (state = ? AND error = ?)", messageID, DirectionOut, StateFailed, ErrorCancelled).
		Updates(set)
	if res.Error != nil {
		return fmt.Errorf("update message %s: %w", messageID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetMessage(ctx, messageID, DirectionOut); err != nil {
			return fmt.Errorf("update message %s: %w", messageID, err)
		}
	}
	return nil
}

// RetryOutbound puts a failed outbound message back in the queue (attempts reset, due now). It returns
// ErrNotFound when no failed outbound message with a packed copy has that id.
func (s *Store) RetryOutbound(ctx context.Context, messageID string, nowMillis int64) error {
	res := s.db.WithContext(ctx).Model(&Message{}).
		Where("message_id = ? AND direction = ? AND state = ? AND packed IS NOT NULL", messageID, DirectionOut, StateFailed).
		Updates(map[string]any{"state": StateQueued, "attempts": 0, "next_attempt_at": nowMillis, "error": "", "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("retry message %s: %w", messageID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("retry message %s: %w", messageID, ErrNotFound)
	}
	return nil
}

// CancelOutbound fails a queued or sending outbound message with ErrorCancelled. It returns ErrNotFound
// when no outbound message in those states has that id.
func (s *Store) CancelOutbound(ctx context.Context, messageID string) error {
	res := s.db.WithContext(ctx).Model(&Message{}).
		Where("message_id = ? AND direction = ? AND state IN ?", messageID, DirectionOut, []string{StateQueued, StateSending}).
		Updates(map[string]any{"state": StateFailed, "error": ErrorCancelled, "next_attempt_at": 0, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("cancel message %s: %w", messageID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("cancel message %s: %w", messageID, ErrNotFound)
	}
	return nil
}

// SetOutboundPacked replaces the packed bytes of an outbound message (after a stamp was added, which
// changes neither its id nor its signature).
func (s *Store) SetOutboundPacked(ctx context.Context, messageID string, packed []byte) error {
	res := s.db.WithContext(ctx).Model(&Message{}).
		Where("message_id = ? AND direction = ?", messageID, DirectionOut).
		Updates(map[string]any{"packed": packed, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("set packed %s: %w", messageID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set packed %s: %w", messageID, ErrNotFound)
	}
	return nil
}
