package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// LastMessage is a conversation's newest message, in short.
type LastMessage struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	Preview   string    `json:"preview"`
	Timestamp time.Time `json:"timestamp"`
	State     string    `json:"state"`
}

// Conversation is one peer's conversation as the list shows it.
type Conversation struct {
	Peer string `json:"peer"`
	// DisplayName is the owner's contact name when set, else the announced name.
	DisplayName   string      `json:"display_name"`
	AnnouncedName string      `json:"announced_name"`
	Contact       bool        `json:"contact"`
	Favourite     bool        `json:"favourite"`
	Last          LastMessage `json:"last"`
	Unread        int         `json:"unread"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// ConversationPage is a page of conversations, newest first; NextCursor is nil on the last page.
type ConversationPage struct {
	Items      []Conversation `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

// ConversationQuery selects a page of conversations: after Cursor (from a previous page's
// next_cursor), matching Search (address, display name, title or content) when set.
type ConversationQuery struct {
	Cursor string
	Search string
	Limit  int
}

// maxSearch bounds a search string.
const maxSearch = 200

// ListConversations returns a page of conversations, most recent first.
func (a *App) ListConversations(ctx context.Context, q ConversationQuery) (ConversationPage, error) {
	sq := store.ConversationQuery{Limit: ClampLimit(q.Limit), Search: strings.TrimSpace(q.Search)}
	if len(sq.Search) > maxSearch {
		return ConversationPage{}, fmt.Errorf("%w: search is limited to %d bytes", ErrInvalidCursor, maxSearch)
	}
	if q.Cursor != "" {
		c, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || c <= 0 {
			return ConversationPage{}, fmt.Errorf("%w: use a next_cursor from a previous page", ErrInvalidCursor)
		}
		sq.Cursor = c
	}
	rows, next, err := a.st.ListConversations(ctx, sq)
	if err != nil {
		return ConversationPage{}, fmt.Errorf("list conversations: %w", err)
	}
	page := ConversationPage{Items: make([]Conversation, len(rows))}
	for i, r := range rows {
		name, c, isContact := a.contacts.name(r.Peer, r.DisplayName)
		page.Items[i] = Conversation{
			Peer: r.Peer, DisplayName: name, AnnouncedName: cleanText(r.DisplayName), Contact: isContact, Favourite: c.Favourite,
			Unread: r.Unread, UpdatedAt: r.UpdatedAt,
			Last: LastMessage{ID: r.MessageID, Direction: r.Direction, Preview: preview(cleanText(string(r.Content))),
				Timestamp: lxmfTime(r.Timestamp), State: r.State},
		}
	}
	if next > 0 {
		c := strconv.FormatInt(next, 10)
		page.NextCursor = &c
	}
	return page, nil
}

// MarkRead marks a conversation's inbound messages read; conversation.read is published when any were unread.
func (a *App) MarkRead(ctx context.Context, peer string) error {
	h, err := ParseAddress(peer)
	if err != nil {
		return err
	}
	n, err := a.st.MarkRead(ctx, h.String())
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	// Only a change is published: a client that marks read on every reload would otherwise feed
	// itself (read event -> reload -> mark read -> ...).
	if n > 0 {
		a.events.Publish(Event{Kind: EventConversationRead, Peer: h.String()})
	}
	return nil
}

// DeleteConversation deletes every message exchanged with peer (and attachment files nothing else
// uses).
func (a *App) DeleteConversation(ctx context.Context, peer string) error {
	h, err := ParseAddress(peer)
	if err != nil {
		return err
	}
	if _, err := a.deleteLocked(func() (store.Deleted, error) { return a.st.DeleteConversation(ctx, h.String()) }); err != nil {
		return notFound(err)
	}
	a.events.Publish(Event{Kind: EventConversationDeleted, Peer: h.String()})
	return nil
}
