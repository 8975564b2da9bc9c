package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Bounds of what a list row carries, so that no page grows with what a peer sends.
const (
	// InlineContentMax is the largest content a list row carries whole; larger content is cut to
	// HeadContentMax bytes and the full text comes from the message's own route.
	InlineContentMax = 4096
	// HeadContentMax is how much of a larger content a list row carries (enough for a 500-character
	// preview).
	HeadContentMax = 2000
	// HeadTitleMax is how much of a title a list row carries.
	HeadTitleMax = 1024
)

// MessageHead is a message as a list shows it: the content only when small (else its first
// HeadContentMax bytes), no fields and no packed copy.
type MessageHead struct {
	ID          int64
	MessageID   string
	Direction   string
	Peer        string
	Title       []byte
	Content     []byte
	ContentLen  int
	Timestamp   float64
	State       string
	Method      string
	Attempts    int
	Error       string
	Verified    bool
	Read        bool
	Renderer    string
	ReplyTo     string
	ReactionTo  string
	Reaction    string
	Meta        string
	FieldsState int
	CreatedAt   time.Time
}

var headColumns = fmt.Sprintf(`id, message_id, direction, peer, substr(title, 1, %d) AS title,
	CASE WHEN length(content) <= %d THEN content ELSE substr(content, 1, %d) END AS content,
	length(content) AS content_len, timestamp, state, method, attempts, error, verified, read, renderer,
	reply_to, reaction_to, reaction, meta, fields_state, created_at`, HeadTitleMax, InlineContentMax, HeadContentMax)

// ThreadQuery selects a page of messages: those with Peer (all peers when empty), before or after the
// message with row id Before or After (neither: the newest page). Reactions are not rows of their own.
type ThreadQuery struct {
	Peer          string
	Before, After int64
	Limit         int
}

// ThreadPage is a page of messages, oldest first.
type ThreadPage struct {
	Items                       []MessageHead
	HasMoreBefore, HasMoreAfter bool
}

// ListThread returns one page of messages.
func (s *Store) ListThread(ctx context.Context, q ThreadQuery) (ThreadPage, error) {
	if q.Limit <= 0 {
		return ThreadPage{}, fmt.Errorf("list thread: limit %d", q.Limit)
	}
	base := func() *gorm.DB {
		d := s.db.WithContext(ctx).Model(&Message{}).Where("reaction_to = ''")
		if q.Peer != "" {
			d = d.Where("peer = ?", q.Peer)
		}
		return d
	}
	var page ThreadPage
	d := base().Select(headColumns).Limit(q.Limit + 1)
	switch {
	case q.After > 0:
		d = d.Where("id > ?", q.After).Order("id")
	case q.Before > 0:
		d = d.Where("id < ?", q.Before).Order("id DESC")
	default:
		d = d.Order("id DESC")
	}
	if err := d.Scan(&page.Items).Error; err != nil {
		return ThreadPage{}, fmt.Errorf("list thread: %w", translate(err))
	}
	more := len(page.Items) > q.Limit
	if more {
		page.Items = page.Items[:q.Limit]
	}
	if q.After == 0 {
		slices.Reverse(page.Items)
	}
	exists := func(cond string, id int64) (bool, error) {
		var n int64
		err := base().Where(cond, id).Limit(1).Count(&n).Error
		return n > 0, err
	}
	var err error
	switch {
	case q.After > 0:
		page.HasMoreAfter = more
		page.HasMoreBefore, err = exists("id <= ?", q.After)
	case q.Before > 0:
		page.HasMoreBefore = more
		page.HasMoreAfter, err = exists("id >= ?", q.Before)
	default:
		page.HasMoreBefore = more
	}
	if err != nil {
		return ThreadPage{}, fmt.Errorf("list thread: %w", translate(err))
	}
	return page, nil
}

// FindMessage returns the row of the message with the LXMF id messageID (the first stored, when it went
// both ways), or ErrNotFound.
func (s *Store) FindMessage(ctx context.Context, messageID string) (Message, error) {
	var m Message
	if err := s.db.WithContext(ctx).Where("message_id = ?", messageID).Order("id").Take(&m).Error; err != nil {
		return Message{}, fmt.Errorf("find message %s: %w", messageID, translate(err))
	}
	return m, nil
}

// FindMessageHead is FindMessage without the large columns.
func (s *Store) FindMessageHead(ctx context.Context, messageID string) (MessageHead, error) {
	var hs []MessageHead
	if err := s.db.WithContext(ctx).Model(&Message{}).Select(headColumns).Where("message_id = ?", messageID).Order("id").Limit(1).Scan(&hs).Error; err != nil {
		return MessageHead{}, fmt.Errorf("find message %s: %w", messageID, translate(err))
	}
	if len(hs) == 0 {
		return MessageHead{}, fmt.Errorf("find message %s: %w", messageID, ErrNotFound)
	}
	return hs[0], nil
}

// Reaction is one reaction to a message.
type Reaction struct {
	ReactionTo string
	Reaction   string
	Direction  string
	Peer       string
}

// Reactions returns the reactions to the messages with the given LXMF ids, at most perMessage each,
// oldest first.
func (s *Store) Reactions(ctx context.Context, messageIDs []string, perMessage int) ([]Reaction, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	var out []Reaction
	err := s.db.WithContext(ctx).Raw(`SELECT reaction_to, reaction, direction, peer FROM (
		SELECT reaction_to, substr(reaction, 1, 64) AS reaction, direction, peer,
			ROW_NUMBER() OVER (PARTITION BY reaction_to ORDER BY id) AS rn
		FROM messages WHERE reaction_to != '' AND reaction_to IN ?) AS t WHERE rn <= ?`, messageIDs, perMessage).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("reactions: %w", translate(err))
	}
	return out, nil
}

// Deleted is what a delete removed: the peers whose conversations changed and the attachment files no
// row points at any more (the caller removes them).
type Deleted struct {
	Messages []string // LXMF ids
	Peers    []string
	Orphans  []string // attachment hashes
}

// DeleteMessage deletes the message with the LXMF id messageID (both directions), or returns
// ErrNotFound.
func (s *Store) DeleteMessage(ctx context.Context, messageID string) (Deleted, error) {
	d, err := s.deleteWhere(ctx, "message_id = ?", messageID)
	if err == nil && len(d.Messages) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Deleted{}, fmt.Errorf("delete message %s: %w", messageID, translate(err))
	}
	return d, nil
}

// DeleteConversation deletes every message exchanged with peer and its conversation, or returns
// ErrNotFound when there was none.
func (s *Store) DeleteConversation(ctx context.Context, peer string) (Deleted, error) {
	d, err := s.deleteWhere(ctx, "peer = ?", peer)
	if err == nil && len(d.Messages) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Deleted{}, fmt.Errorf("delete conversation %s: %w", peer, translate(err))
	}
	return d, nil
}

func (s *Store) deleteWhere(ctx context.Context, cond string, arg any) (Deleted, error) {
	var d Deleted
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		type victim struct {
			ID        int64
			MessageID string
			Peer      string
		}
		var vs []victim
		if err := tx.Model(&Message{}).Select("id, message_id, peer").Where(cond, arg).Scan(&vs).Error; err != nil {
			return err
		}
		if len(vs) == 0 {
			return nil
		}
		ids := make([]int64, len(vs))
		peers := map[string]bool{}
		for i, v := range vs {
			ids[i] = v.ID
			d.Messages = append(d.Messages, v.MessageID)
			peers[v.Peer] = true
		}
		var hashes []string
		for part := range slices.Chunk(ids, 500) {
			var hs []string
			if err := tx.Model(&Attachment{}).Distinct("hash").Where("message_row IN ?", part).Pluck("hash", &hs).Error; err != nil {
				return err
			}
			hashes = append(hashes, hs...)
			if err := tx.Where("message_row IN ?", part).Delete(&Attachment{}).Error; err != nil {
				return err
			}
			if err := tx.Where("id IN ?", part).Delete(&Message{}).Error; err != nil {
				return err
			}
		}
		slices.Sort(hashes)
		hashes = slices.Compact(hashes)
		for part := range slices.Chunk(hashes, 500) {
			var still []string
			if err := tx.Model(&Attachment{}).Distinct("hash").Where("hash IN ?", part).Pluck("hash", &still).Error; err != nil {
				return err
			}
			for _, h := range part {
				if !slices.Contains(still, h) {
					d.Orphans = append(d.Orphans, h)
				}
			}
		}
		for p := range peers {
			d.Peers = append(d.Peers, p)
			if err := refreshConversation(tx, p); err != nil {
				return err
			}
		}
		slices.Sort(d.Peers)
		return nil
	})
	return d, err
}

// refreshConversation recomputes a peer's conversation from its messages (deleting it when none is left).
func refreshConversation(tx *gorm.DB, peer string) error {
	type agg struct {
		LastID int64
		Unread int
	}
	var a agg
	if err := tx.Raw(`SELECT COALESCE(MAX(id), 0) AS last_id,
		COALESCE(SUM(CASE WHEN direction = 'in' AND NOT read THEN 1 ELSE 0 END), 0) AS unread
		FROM messages WHERE peer = ? AND reaction_to = ''`, peer).Scan(&a).Error; err != nil {
		return err
	}
	if a.LastID == 0 {
		return tx.Exec(`DELETE FROM conversations WHERE peer = ?`, peer).Error
	}
	return tx.Exec(`UPDATE conversations SET last_id = ?, unread = ? WHERE peer = ?`, a.LastID, a.Unread, peer).Error
}

// MarkRead marks every inbound message from peer read; it returns how many were unread.
func (s *Store) MarkRead(ctx context.Context, peer string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Message{}).Where("peer = ? AND direction = ? AND NOT read", peer, DirectionIn).Update("read", true)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return tx.Exec(`UPDATE conversations SET unread = 0 WHERE peer = ?`, peer).Error
	})
	if err != nil {
		return 0, fmt.Errorf("mark read %s: %w", peer, translate(err))
	}
	return n, nil
}

// ConversationRow is one peer's conversation with its newest message.
type ConversationRow struct {
	Peer        string
	DisplayName string
	Unread      int
	UpdatedAt   time.Time
	LastID      int64
	MessageID   string
	Direction   string
	Content     []byte // at most HeadContentMax bytes
	Timestamp   float64
	State       string
}

// ConversationQuery selects a page of conversations, newest first: those whose newest message is older
// than the row id Cursor (0: from the newest), matching Search (address, display name, contact name, title or content)
// when it is not empty.
type ConversationQuery struct {
	Cursor int64
	Search string
	Limit  int
}

// ListConversations returns a page of conversations and the cursor of the next page (0 at the end).
func (s *Store) ListConversations(ctx context.Context, q ConversationQuery) ([]ConversationRow, int64, error) {
	if q.Limit <= 0 {
		return nil, 0, fmt.Errorf("list conversations: limit %d", q.Limit)
	}
	d := s.db.WithContext(ctx).Table("conversations c").
		Select(fmt.Sprintf(`c.peer, COALESCE(p.display_name, '') AS display_name, c.unread, c.updated_at, c.last_id,
			m.message_id, m.direction, substr(m.content, 1, %d) AS content, m.timestamp, m.state`, HeadContentMax)).
		Joins("JOIN messages m ON m.id = c.last_id").
		Joins("LEFT JOIN peers p ON p.hash = c.peer").
		Order("c.last_id DESC").Limit(q.Limit + 1)
	if q.Cursor > 0 {
		d = d.Where("c.last_id < ?", q.Cursor)
	}
	if q.Search != "" {
		like := "%" + escapeLike(q.Search) + "%"
		l := s.likeOp()
		d = d.Where(`c.peer `+l+` ? ESCAPE '\' OR p.display_name `+l+` ? ESCAPE '\' OR
			c.peer IN (SELECT address FROM contacts WHERE name `+l+` ? ESCAPE '\') OR EXISTS (
			SELECT 1 FROM messages s WHERE s.peer = c.peer AND
			(`+s.blobText("s.content")+` `+l+` ? ESCAPE '\' OR `+s.blobText("s.title")+` `+l+` ? ESCAPE '\'))`, like, like, like, like, like)
	}
	var rows []ConversationRow
	if err := d.Scan(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list conversations: %w", translate(err))
	}
	var next int64
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		next = rows[len(rows)-1].LastID
	}
	return rows, next, nil
}

// escapeLike escapes LIKE's wildcards with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
