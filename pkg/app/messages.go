package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Input errors; pkg/web answers them with 400. Test with errors.Is.
var (
	// ErrInvalidAddress means an address is not 32 hex digits (16 bytes).
	ErrInvalidAddress = errors.New("address must be 32 hex digits")
	// ErrInvalidMethod means an unknown delivery method.
	ErrInvalidMethod = errors.New("method must be automatic, opportunistic, direct or propagated")
	// ErrInvalidField means an attachment, image, audio, reply, reaction or renderer that cannot be sent.
	ErrInvalidField = errors.New("invalid attachment or field")
	// ErrInvalidCursor means a paging cursor (before, after, cursor) that is malformed.
	ErrInvalidCursor = errors.New("invalid paging cursor")
	// ErrState means the message is not in a state the action applies to (retry a failed message,
	// cancel a queued or sending one).
	ErrState = errors.New("message is not in a state this action applies to")
	// ErrMethodUnavailable means a delivery method that is not implemented yet.
	ErrMethodUnavailable = errors.New("delivery method not available yet")
	// ErrEmpty means a message without content.
	ErrEmpty = errors.New("content is required")
	// ErrTooLarge means a message above the size limit or above what its
	// delivery method carries.
	ErrTooLarge = errors.New("message too large")
	// ErrNotUTF8 means a title or content that is not UTF-8 text.
	ErrNotUTF8 = errors.New("title and content must be UTF-8 text")
	// ErrNotConnected means nothing could be sent: no interface is up.
	ErrNotConnected = errors.New("no interface could send")
)

// Delivery method names. MethodAutomatic (the default) picks direct when a path to the peer is known
// and links are available, else opportunistic when the message fits one packet, else propagated when a
// propagation node is chosen, else direct (which asks for a path first).
const (
	MethodAutomatic     = "automatic"
	MethodOpportunistic = "opportunistic"
	MethodDirect        = "direct"
	MethodPropagated    = "propagated"
)

// SendRequest is a message the user wants to send.
type SendRequest struct {
	To      string `json:"to"`
	Title   string `json:"title"`
	Content string `json:"content"`
	Method  string `json:"method"` // empty means automatic
	// Attachments are files (FIELD_FILE_ATTACHMENTS); Data is base64 in JSON.
	Attachments []AttachmentInput `json:"attachments,omitempty"`
	// Image is FIELD_IMAGE; its type is the MIME subtype (image/webp -> "webp").
	Image *ImageInput `json:"image,omitempty"`
	// Audio is FIELD_AUDIO with a codec name (opus_ogg, codec2_1200, ...).
	Audio *AudioInput `json:"audio,omitempty"`
	// ReplyTo is the id of the message this one answers (FIELD_REPLY_TO); ReplyQuote the quoted text
	// (FIELD_REPLY_QUOTE).
	ReplyTo    string `json:"reply_to,omitempty"`
	ReplyQuote string `json:"reply_quote,omitempty"`
	// Reaction reacts to a message (FIELD_REACTION, as MeshChatX sends it: a message of its own).
	Reaction *ReactionRef `json:"reaction,omitempty"`
	// Renderer is plain, markdown, micron or bbcode (FIELD_RENDERER); empty sends none.
	Renderer string `json:"renderer,omitempty"`
	// Fields are extra LXMF fields for Go callers; the JSON API does not take them.
	Fields lxmf.Fields `json:"-"`
}

// AttachmentInput is a file to send.
type AttachmentInput struct {
	Name string `json:"name"`
	Mime string `json:"mime,omitempty"`
	Data []byte `json:"data"`
}

// ImageInput is an image to send.
type ImageInput struct {
	Mime string `json:"mime"`
	Data []byte `json:"data"`
}

// AudioInput is an audio clip to send.
type AudioInput struct {
	Codec string `json:"codec"`
	Data  []byte `json:"data"`
}

// ParseAddress parses an LXMF address: 32 hex digits.
func ParseAddress(s string) (wire.Hash, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if len(s) != 2*wire.TruncatedHashLen {
		return wire.Hash{}, ErrInvalidAddress
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return wire.Hash{}, ErrInvalidAddress
	}
	return wire.Hash(b), nil
}

func (a *App) parseMethod(s string) (lxmf.Method, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", MethodAutomatic:
		return 0, nil
	case MethodOpportunistic:
		return lxmf.MethodOpportunistic, nil
	case MethodDirect:
		if a.r.DirectAvailable() {
			return lxmf.MethodDirect, nil
		}
		return 0, fmt.Errorf("%s: %w", s, ErrMethodUnavailable)
	case MethodPropagated:
		if a.prop == nil {
			return 0, fmt.Errorf("%s: %w", s, ErrMethodUnavailable)
		}
		if _, ok := a.r.PropagationNode(); !ok {
			return 0, fmt.Errorf("%s: %w: %w", s, ErrMethodUnavailable, ErrNoPropagationNode)
		}
		return lxmf.MethodPropagated, nil
	}
	return 0, ErrInvalidMethod
}

func methodName(m lxmf.Method) string {
	switch m {
	case lxmf.MethodOpportunistic:
		return MethodOpportunistic
	case lxmf.MethodDirect:
		return MethodDirect
	case lxmf.MethodPropagated:
		return MethodPropagated
	case lxmf.MethodPaper:
		return "paper"
	}
	return ""
}

func methodFromName(s string) lxmf.Method {
	switch s {
	case MethodOpportunistic:
		return lxmf.MethodOpportunistic
	case MethodDirect:
		return lxmf.MethodDirect
	case MethodPropagated:
		return lxmf.MethodPropagated
	}
	return 0
}

// buildFields turns the request's attachments, image, audio, reply, reaction and renderer into LXMF
// fields in the LXMF 1.2.1 layout, inserted in the order MeshChatX's send_message inserts them
// (meshchatx/meshchat.py, ReticulumMeshChat.send_message): renderer, file attachments, image, audio,
// then other fields (where MeshChatX puts telemetry and commands), reply_to, reply_quote, reaction.
// The order is part of the packed bytes, so a message built from the same inputs is byte-identical to
// MeshChatX's (testdata/meshchatx-4.10.7-messages.json in pkg/lxmf). A typed input wins over a
// req.Fields entry with the same id.
func buildFields(req SendRequest) (lxmf.Fields, error) {
	var f lxmf.Fields
	if req.Renderer != "" {
		r, ok := rendererMode(req.Renderer)
		if !ok {
			return nil, fmt.Errorf("%w: renderer must be plain, markdown, micron or bbcode", ErrInvalidField)
		}
		f.Set(lxmf.FieldRenderer, msgpack.Int(r))
	}
	if len(req.Attachments) > 0 {
		atts := make([]lxmf.Attachment, len(req.Attachments))
		for i, at := range req.Attachments {
			if at.Name == "" || !utf8.ValidString(at.Name) {
				return nil, fmt.Errorf("%w: attachment %d needs a UTF-8 name", ErrInvalidField, i)
			}
			atts[i] = lxmf.Attachment{Name: cleanName(at.Name, "file"), Data: at.Data}
		}
		f.SetAttachments(atts)
	}
	if img := req.Image; img != nil {
		typ := cleanToken(strings.TrimPrefix(strings.ToLower(img.Mime), "image/"))
		if typ == "" || len(img.Data) == 0 {
			return nil, fmt.Errorf("%w: image needs an image/* mime and data", ErrInvalidField)
		}
		f.SetImage(lxmf.Image{Type: typ, Data: img.Data})
	}
	if au := req.Audio; au != nil {
		mode, ok := audioMode(au.Codec)
		if !ok || len(au.Data) == 0 {
			return nil, fmt.Errorf("%w: audio needs a known codec (opus_ogg, codec2_1200, ...) and data", ErrInvalidField)
		}
		f.SetAudio(lxmf.Audio{Mode: mode, Data: au.Data})
	}
	typed := len(f)
	for _, kv := range req.Fields {
		if _, dup := f[:typed].Lookup(kv.Key); dup || typedLater(req, kv.Key) {
			continue
		}
		f.SetKey(kv.Key, kv.Value)
	}
	if req.ReplyTo != "" {
		id, ok := normalizeID(req.ReplyTo)
		if !ok {
			return nil, fmt.Errorf("%w: reply_to must be a message id (64 hex digits)", ErrInvalidField)
		}
		b, _ := hex.DecodeString(id)
		f.Set(lxmf.FieldReplyTo, msgpack.Bin(b))
		if req.ReplyQuote != "" {
			f.Set(lxmf.FieldReplyQuote, msgpack.Bin([]byte(truncUTF8(req.ReplyQuote, maxQuoteLen))))
		}
	}
	if rc := req.Reaction; rc != nil {
		id, ok := normalizeID(rc.To)
		emoji := cleanEmoji(rc.Emoji)
		if !ok || emoji == "" || emoji != strings.TrimSpace(rc.Emoji) {
			return nil, fmt.Errorf("%w: reaction needs a message id and an emoji of at most %d characters", ErrInvalidField, maxEmojiRunes)
		}
		b, _ := hex.DecodeString(id)
		f.Set(lxmf.FieldReaction, msgpack.Map(
			msgpack.KV{Key: msgpack.Int(reactionTo), Value: msgpack.Bin(b)},
			msgpack.KV{Key: msgpack.Int(reactionContent), Value: msgpack.Bin([]byte(emoji))}))
	}
	return f, nil
}

// typedLater reports whether key is a field buildFields sets after req.Fields (reply, quote, reaction),
// so that the typed value, in its MeshChatX position, replaces the caller's.
func typedLater(req SendRequest, key msgpack.Value) bool {
	var later lxmf.Fields
	if req.ReplyTo != "" {
		later.Set(lxmf.FieldReplyTo, msgpack.Nil())
		if req.ReplyQuote != "" {
			later.Set(lxmf.FieldReplyQuote, msgpack.Nil())
		}
	}
	if req.Reaction != nil {
		later.Set(lxmf.FieldReaction, msgpack.Nil())
	}
	_, hit := later.Lookup(key)
	return hit
}

// chooseMethod resolves automatic delivery for a packed message.
func (a *App) chooseMethod(m *lxmf.Message) lxmf.Method {
	if a.r.DirectAvailable() && a.tr.HasPath(m.Destination) {
		return lxmf.MethodDirect
	}
	if planned, err := planMethod(m, lxmf.MethodOpportunistic); err == nil && planned == lxmf.MethodOpportunistic {
		return lxmf.MethodOpportunistic
	}
	if _, ok := a.r.PropagationNode(); ok && a.prop != nil {
		return lxmf.MethodPropagated
	}
	return lxmf.MethodDirect
}

// Send validates a message, signs it, stores it queued and wakes the
// router: the message is persisted before any network I/O, and its id is
// fixed, so retries never make a second message.
func (a *App) Send(ctx context.Context, req SendRequest) (Message, error) {
	if err := a.budget.admitSend(); err != nil {
		return Message{}, err
	}
	dest, err := ParseAddress(req.To)
	if err != nil {
		return Message{}, err
	}
	method, err := a.parseMethod(req.Method)
	if err != nil {
		return Message{}, err
	}
	if !utf8.ValidString(req.Title) || !utf8.ValidString(req.Content) || !utf8.ValidString(req.ReplyQuote) {
		return Message{}, ErrNotUTF8
	}
	if len(req.Title)+len(req.Content) > a.opts.MaxContent {
		return Message{}, fmt.Errorf("%w: title and content are limited to %d bytes", ErrTooLarge, a.opts.MaxContent)
	}
	fieldsIn, err := buildFields(req)
	if err != nil {
		return Message{}, err
	}
	if req.Content == "" && len(fieldsIn) == 0 {
		return Message{}, ErrEmpty
	}
	var fields []byte
	if len(fieldsIn) > 0 {
		fields = fieldsIn.Value().Encode()
		if len(fields) > a.opts.MaxFields {
			return Message{}, fmt.Errorf("%w: attachments are %d bytes, the limit is %d bytes", ErrTooLarge, len(fields), a.opts.MaxFields)
		}
	}
	now := a.opts.Clock.Now()
	m := &lxmf.Message{Destination: dest, Timestamp: lxmf.Timestamp(now), Title: []byte(req.Title), Content: []byte(req.Content), Fields: fieldsIn}
	if err := m.Pack(a.r.Identity()); err != nil {
		return Message{}, fmt.Errorf("send: %w", err)
	}
	if method == 0 {
		method = a.chooseMethod(m)
	}
	// As the reference, an opportunistic message too large for one packet
	// goes direct (when links are available).
	planned, err := planMethod(m, method)
	switch {
	case err != nil:
		return Message{}, fmt.Errorf("send: %w", err)
	case planned == lxmf.MethodDirect && !a.r.DirectAvailable():
		return Message{}, fmt.Errorf("%w: opportunistic delivery carries at most %d bytes of title and content, and direct delivery is not available",
			ErrTooLarge, lxmf.EncryptedPacketMaxContent)
	}
	method = planned
	row := &store.Message{
		MessageID: m.ID.String(), Direction: store.DirectionOut, Peer: dest.String(),
		Title: m.Title, Content: m.Content, Packed: m.Packed, Timestamp: m.Timestamp,
		State: store.StateQueued, Method: methodName(method), NextAttemptAt: now.UnixMilli(),
		CreatedAt: now.UTC(), Read: true,
	}
	if a.blobs == nil {
		row.Fields = fields
	}
	inserted, atts, err := a.storeMessage(ctx, row, decompose(fieldsIn))
	if err != nil {
		return Message{}, fmt.Errorf("send: %w", err)
	}
	// Answer with the row as stored, queued. Re-reading it raced with the router loop, which may
	// already be sending it; only an identical message stored earlier is read back. Nothing can react
	// to a message that was just made.
	a.r.Wake()
	var v Message
	if inserted {
		v, err = a.freshView(ctx, headOf(*row), atts, false)
	} else {
		var head store.MessageHead
		if head, err = a.st.FindMessageHead(ctx, row.MessageID); err != nil {
			return Message{}, fmt.Errorf("send: %w", err)
		}
		v, err = a.view(ctx, head)
	}
	if err != nil {
		return Message{}, fmt.Errorf("send: %w", err)
	}
	v.State = store.StateQueued
	a.events.Publish(Event{Kind: EventMessageQueued, MessageID: v.ID, Peer: v.Peer, State: v.State, Message: &v})
	return v, nil
}

// MessageQuery selects a page of messages: Peer (all when empty), before or after the message with id
// Before or After (neither: the newest page), Limit rows (default 50, at most 500).
type MessageQuery struct {
	Peer          string
	Before, After string
	Limit         int
}

// ListMessages returns a page of messages, oldest first within the page.
func (a *App) ListMessages(ctx context.Context, q MessageQuery) (MessagePage, error) {
	sq := store.ThreadQuery{Limit: ClampLimit(q.Limit)}
	if strings.TrimSpace(q.Peer) != "" {
		h, err := ParseAddress(q.Peer)
		if err != nil {
			return MessagePage{}, err
		}
		sq.Peer = h.String()
	}
	if q.Before != "" && q.After != "" {
		return MessagePage{}, fmt.Errorf("%w: give before or after, not both", ErrInvalidCursor)
	}
	for _, c := range []struct {
		id  string
		dst *int64
	}{{q.Before, &sq.Before}, {q.After, &sq.After}} {
		if c.id == "" {
			continue
		}
		id, ok := normalizeID(c.id)
		if !ok {
			return MessagePage{}, fmt.Errorf("%w: before and after are message ids", ErrInvalidCursor)
		}
		h, err := a.st.FindMessageHead(ctx, id)
		if err != nil {
			return MessagePage{}, notFound(err)
		}
		*c.dst = h.ID
	}
	page, err := a.st.ListThread(ctx, sq)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	items, err := a.views(ctx, page.Items, maxListAttachments)
	if err != nil {
		return MessagePage{}, fmt.Errorf("list messages: %w", err)
	}
	return MessagePage{Items: items, HasMoreBefore: page.HasMoreBefore, HasMoreAfter: page.HasMoreAfter}, nil
}

// GetMessage returns the whole message with the LXMF id id: full title and content, every attachment.
func (a *App) GetMessage(ctx context.Context, id string) (Message, error) {
	id, ok := normalizeID(id)
	if !ok {
		return Message{}, ErrNotFound
	}
	r, err := a.st.FindMessage(ctx, id)
	if err != nil {
		return Message{}, notFound(err)
	}
	vs, err := a.views(ctx, []store.MessageHead{headOf(r)}, 1<<30)
	if err != nil {
		return Message{}, fmt.Errorf("get message: %w", err)
	}
	v := vs[0]
	v.Content, v.ContentTruncated = cleanText(string(r.Content)), false
	v.Title = cleanText(string(r.Title))
	return v, nil
}

// DeleteMessage deletes a message (and attachment files nothing else uses).
func (a *App) DeleteMessage(ctx context.Context, id string) error {
	id, ok := normalizeID(id)
	if !ok {
		return ErrNotFound
	}
	d, err := a.deleteLocked(func() (store.Deleted, error) { return a.st.DeleteMessage(ctx, id) })
	if err != nil {
		return notFound(err)
	}
	for _, p := range d.Peers {
		a.events.Publish(Event{Kind: EventMessageDeleted, MessageID: id, Peer: p})
	}
	return nil
}

func (a *App) deleteLocked(del func() (store.Deleted, error)) (store.Deleted, error) {
	if a.blobs != nil {
		a.blobs.mu.Lock()
		defer a.blobs.mu.Unlock()
	}
	d, err := del()
	if err != nil {
		return d, err
	}
	a.removeOrphans(d.Orphans)
	return d, nil
}

// RetryMessage puts a failed outbound message back in the queue.
func (a *App) RetryMessage(ctx context.Context, id string) (Message, error) {
	return a.changeOutbound(ctx, id, func(id string) error {
		return a.st.RetryOutbound(ctx, id, a.opts.Clock.Now().UnixMilli())
	})
}

// CancelMessage fails a queued or sending outbound message with the error "cancelled".
func (a *App) CancelMessage(ctx context.Context, id string) (Message, error) {
	return a.changeOutbound(ctx, id, func(id string) error { return a.st.CancelOutbound(ctx, id) })
}

func (a *App) changeOutbound(ctx context.Context, id string, change func(string) error) (Message, error) {
	id, ok := normalizeID(id)
	if !ok {
		return Message{}, ErrNotFound
	}
	if _, err := a.st.GetMessage(ctx, id, store.DirectionOut); err != nil {
		return Message{}, notFound(err)
	}
	if err := change(id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Message{}, ErrState
		}
		return Message{}, err
	}
	a.r.Wake()
	h, err := a.st.FindMessageHead(ctx, id)
	if err != nil {
		return Message{}, notFound(err)
	}
	v, err := a.view(ctx, h)
	if err != nil {
		return Message{}, err
	}
	a.events.Publish(Event{Kind: EventMessageState, MessageID: v.ID, Peer: v.Peer, State: v.State})
	return v, nil
}

// stateName maps router states to store states.
func stateName(s router.State) string { return string(s) }
