package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// Paging bounds every list answers within.
const (
	// DefaultLimit is a page's size when the request names none.
	DefaultLimit = 50
	// MaxLimit is the largest page; larger limits are cut to it.
	MaxLimit = 500
	// PreviewRunes is how many characters of content a preview carries.
	PreviewRunes = 500
	// maxListAttachments and maxListReactions bound a list row's lists (the full message has all
	// attachments).
	maxListAttachments = 64
	maxListReactions   = 64
)

// ClampLimit applies the default and the cap to a requested page size.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// AttachmentInfo is one attachment of a message: what it is and where to download it.
type AttachmentInfo struct {
	Index int    `json:"index"`
	Kind  string `json:"kind"` // file, image or audio
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	Mime  string `json:"mime"`
	Codec string `json:"codec,omitempty"` // audio: codec name (opus_ogg, codec2_1200, ...)
	URL   string `json:"url"`
}

// Reaction is one reaction to a message; From is the reacting side's LXMF address.
type Reaction struct {
	Emoji string `json:"emoji"`
	From  string `json:"from"`
}

// ReactionRef is what a reaction message reacts to.
type ReactionRef struct {
	To    string `json:"to"`
	Emoji string `json:"emoji"`
}

// Message is a stored message as the UI and API show it. In lists, Content is set only when it is at
// most 4 KiB (else it is empty and ContentTruncated true; GET /api/v1/messages/{id} has it whole), and
// at most 64 attachments and reactions are listed (AttachmentCount has the total).
type Message struct {
	ID               string           `json:"id"`
	Direction        string           `json:"direction"` // in or out
	Peer             string           `json:"peer"`
	Title            string           `json:"title"`
	Content          string           `json:"content"`
	ContentTruncated bool             `json:"content_truncated,omitempty"`
	ContentSize      int              `json:"content_size"`
	Preview          string           `json:"preview"`
	Timestamp        time.Time        `json:"timestamp"` // the sender's LXMF timestamp
	State            string           `json:"state"`     // queued, sending, sent, delivered, failed; received for inbound
	Method           string           `json:"method"`
	Attempts         int              `json:"attempts"`
	Error            string           `json:"error,omitempty"`
	Verified         bool             `json:"verified"` // inbound: signature checked against the sender's identity
	CreatedAt        time.Time        `json:"created_at"`
	Read             bool             `json:"read"`
	Renderer         string           `json:"renderer"` // plain, markdown, micron, bbcode; empty when the sender set none (the UI then renders Markdown)
	Attachments      []AttachmentInfo `json:"attachments"`
	AttachmentCount  int              `json:"attachment_count"`
	ReplyTo          *string          `json:"reply_to"`
	ReplyQuote       string           `json:"reply_quote,omitempty"`
	Reaction         *ReactionRef     `json:"reaction,omitempty"` // set when this message is a reaction
	Reactions        []Reaction       `json:"reactions"`
	RawFields        []RawField       `json:"raw_fields"`
	// HeldAttachments lists attachments whose bytes were not stored (from a stranger).
	HeldAttachments []HeldAttachment `json:"held_attachments"`
}

// MessagePage is one page of a thread (or of all messages), oldest first.
type MessagePage struct {
	Items         []Message `json:"items"`
	HasMoreBefore bool      `json:"has_more_before"`
	HasMoreAfter  bool      `json:"has_more_after"`
}

func headOf(r store.Message) store.MessageHead {
	return store.MessageHead{
		ID: r.ID, MessageID: r.MessageID, Direction: r.Direction, Peer: r.Peer, Title: r.Title, Content: r.Content,
		ContentLen: len(r.Content), Timestamp: r.Timestamp, State: r.State, Method: r.Method, Attempts: r.Attempts,
		Error: r.Error, Verified: r.Verified, Read: r.Read, Renderer: r.Renderer, ReplyTo: r.ReplyTo,
		ReactionTo: r.ReactionTo, Reaction: r.Reaction, Meta: r.Meta, FieldsState: r.FieldsState, CreatedAt: r.CreatedAt,
	}
}

// headView is the list form of a message, without attachments and reactions (views adds them).
func headView(r store.MessageHead) Message {
	content := cleanText(string(r.Content))
	v := Message{
		ID: r.MessageID, Direction: r.Direction, Peer: r.Peer, Title: cleanText(string(r.Title)),
		ContentSize: r.ContentLen, Preview: preview(content),
		Timestamp: lxmfTime(r.Timestamp), State: r.State, Method: r.Method, Attempts: r.Attempts,
		Error: r.Error, Verified: r.Verified, CreatedAt: r.CreatedAt, Read: r.Read || r.Direction == store.DirectionOut,
		Renderer: r.Renderer, Attachments: []AttachmentInfo{}, Reactions: []Reaction{}, RawFields: []RawField{},
		HeldAttachments: []HeldAttachment{},
	}
	if r.ContentLen <= store.InlineContentMax {
		v.Content = content
	} else {
		v.ContentTruncated = true
	}
	if r.ReplyTo != "" {
		rt := r.ReplyTo
		v.ReplyTo = &rt
	}
	if r.ReactionTo != "" {
		v.Reaction = &ReactionRef{To: r.ReactionTo, Emoji: r.Reaction}
	}
	if r.Meta != "" {
		var m meta
		if json.Unmarshal([]byte(r.Meta), &m) == nil {
			v.ReplyQuote = m.Quote
			if m.RawFields != nil {
				v.RawFields = m.RawFields
			}
			if m.Held != nil {
				v.HeldAttachments = m.Held
			}
		}
	}
	return v
}

func preview(s string) string {
	if utf8.RuneCountInString(s) <= PreviewRunes {
		return s
	}
	return string([]rune(s)[:PreviewRunes])
}

func attachmentView(messageID string, a store.Attachment) AttachmentInfo {
	return AttachmentInfo{
		Index: a.Idx, Kind: a.Kind, Name: a.Name, Size: a.Size, Mime: a.Mime, Codec: a.Codec,
		URL: fmt.Sprintf("/api/v1/messages/%s/attachments/%d", messageID, a.Idx),
	}
}

// views turns heads into list rows with their attachments (at most perMessage) and reactions.
func (a *App) views(ctx context.Context, heads []store.MessageHead, perMessage int) ([]Message, error) {
	out := make([]Message, len(heads))
	rows := make([]int64, 0, len(heads))
	ids := make([]string, 0, len(heads))
	at := make(map[int64]int, len(heads))
	byID := make(map[string][]int, len(heads))
	for i, h := range heads {
		out[i] = headView(h)
		at[h.ID] = i
		if h.FieldsState == 1 {
			rows = append(rows, h.ID)
		}
		ids = append(ids, h.MessageID)
		byID[h.MessageID] = append(byID[h.MessageID], i)
	}
	atts, total, err := a.st.MessageAttachments(ctx, rows, perMessage)
	if err != nil {
		return nil, err
	}
	for _, t := range atts {
		i := at[t.MessageRow]
		out[i].Attachments = append(out[i].Attachments, attachmentView(out[i].ID, t))
	}
	for row, n := range total {
		out[at[row]].AttachmentCount = n
	}
	reacts, err := a.st.Reactions(ctx, ids, maxListReactions)
	if err != nil {
		return nil, err
	}
	me := a.r.Hash().String()
	for _, r := range reacts {
		from := r.Peer
		if r.Direction == store.DirectionOut {
			from = me
		}
		for _, i := range byID[r.ReactionTo] {
			out[i].Reactions = append(out[i].Reactions, Reaction{Emoji: r.Reaction, From: from})
		}
	}
	return out, nil
}

// view is one message's list row.
// freshView is the view of a message just stored with the attachment rows atts, built without reading
// them back; reactions to it are looked up only when some may exist (an inbound message whose
// reactions arrived first). Sending and receiving a message used to spend a third of their time
// re-reading what they had just written.
func (a *App) freshView(ctx context.Context, h store.MessageHead, atts []store.Attachment, lookReactions bool) (Message, error) {
	v := headView(h)
	if h.FieldsState == 1 {
		for i, t := range atts {
			if i < maxListAttachments {
				v.Attachments = append(v.Attachments, attachmentView(v.ID, t))
			}
		}
		v.AttachmentCount = len(atts)
	}
	if !lookReactions {
		return v, nil
	}
	reacts, err := a.st.Reactions(ctx, []string{h.MessageID}, maxListReactions)
	if err != nil {
		return Message{}, err
	}
	me := a.r.Hash().String()
	for _, r := range reacts {
		from := r.Peer
		if r.Direction == store.DirectionOut {
			from = me
		}
		v.Reactions = append(v.Reactions, Reaction{Emoji: r.Reaction, From: from})
	}
	return v, nil
}

func (a *App) view(ctx context.Context, h store.MessageHead) (Message, error) {
	vs, err := a.views(ctx, []store.MessageHead{h}, maxListAttachments)
	if err != nil {
		return Message{}, err
	}
	return vs[0], nil
}

func lxmfTime(ts float64) time.Time {
	return time.UnixMicro(int64(ts * 1e6)).UTC()
}

// normalizeID checks an LXMF message id (64 hex digits) and lowercases it.
func normalizeID(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, validHash(s)
}
