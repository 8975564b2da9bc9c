package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Input errors; pkg/web answers them with 400. Test with errors.Is.
var (
	// ErrInvalidAddress means an address is not 32 hex digits (16 bytes).
	ErrInvalidAddress = errors.New("address must be 32 hex digits")
	// ErrInvalidMethod means an unknown delivery method.
	ErrInvalidMethod = errors.New("method must be opportunistic, direct or propagated")
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

// Delivery method names.
const (
	MethodOpportunistic = "opportunistic"
	MethodDirect        = "direct"
	MethodPropagated    = "propagated"
)

// SendRequest is a message the user wants to send.
type SendRequest struct {
	To      string `json:"to"`
	Title   string `json:"title"`
	Content string `json:"content"`
	Method  string `json:"method"` // empty means opportunistic
	// Fields are extra LXMF fields (attachments, images, ...) for Go
	// callers; the JSON API does not take them yet.
	Fields lxmf.Fields `json:"-"`
}

// Message is a stored message as the UI and API show it.
type Message struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"` // in or out
	Peer      string    `json:"peer"`
	Title     string    `json:"title"`
	Content   string    `json:"content"`
	Timestamp time.Time `json:"timestamp"` // the sender's LXMF timestamp
	State     string    `json:"state"`     // queued, sending, sent, delivered, failed; received for inbound
	Method    string    `json:"method"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
	Verified  bool      `json:"verified"` // inbound: signature checked against the sender's identity
	CreatedAt time.Time `json:"created_at"`
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
	case "", MethodOpportunistic:
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
	if req.Content == "" && len(req.Fields) == 0 {
		return Message{}, ErrEmpty
	}
	if !utf8.ValidString(req.Title) || !utf8.ValidString(req.Content) {
		return Message{}, ErrNotUTF8
	}
	if len(req.Title)+len(req.Content) > a.opts.MaxContent {
		return Message{}, fmt.Errorf("%w: title and content are limited to %d bytes", ErrTooLarge, a.opts.MaxContent)
	}
	var fields []byte
	if len(req.Fields) > 0 {
		fields = req.Fields.Value().Encode()
		if len(fields) > a.opts.MaxFields {
			return Message{}, fmt.Errorf("%w: fields (attachments) are limited to %d bytes", ErrTooLarge, a.opts.MaxFields)
		}
	}
	now := a.opts.Clock.Now()
	m := &lxmf.Message{Destination: dest, Timestamp: lxmf.Timestamp(now), Title: []byte(req.Title), Content: []byte(req.Content), Fields: req.Fields}
	if err := m.Pack(a.r.Identity()); err != nil {
		return Message{}, fmt.Errorf("send: %w", err)
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
		Title: m.Title, Content: m.Content, Fields: fields, Packed: m.Packed, Timestamp: m.Timestamp,
		State: store.StateQueued, Method: methodName(method), NextAttemptAt: now.UnixMilli(),
		CreatedAt: now.UTC(),
	}
	inserted, err := a.st.InsertMessage(ctx, row)
	if err != nil {
		return Message{}, fmt.Errorf("send: %w", err)
	}
	// Answer with the row as stored, queued. Re-reading it raced with the router loop, which may
	// already be sending it; only an identical message stored earlier is read back.
	stored := *row
	if !inserted {
		if stored, err = a.st.GetMessage(ctx, row.MessageID, store.DirectionOut); err != nil {
			return Message{}, fmt.Errorf("send: %w", err)
		}
	}
	a.r.Wake()
	v := messageView(stored)
	a.events.Publish(Event{Kind: EventMessageQueued, MessageID: v.ID, Peer: v.Peer, State: v.State, Message: &v})
	return v, nil
}

// ListMessages returns the messages exchanged with peer (all when empty),
// oldest first.
func (a *App) ListMessages(ctx context.Context, peer string) ([]Message, error) {
	key := ""
	if strings.TrimSpace(peer) != "" {
		h, err := ParseAddress(peer)
		if err != nil {
			return nil, err
		}
		key = h.String()
	}
	rows, err := a.st.ListMessages(ctx, key, 0)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	out := make([]Message, 0, len(rows))
	for _, r := range rows {
		out = append(out, messageView(r))
	}
	return out, nil
}

func messageView(r store.Message) Message {
	return Message{
		ID: r.MessageID, Direction: r.Direction, Peer: r.Peer,
		Title: strings.ToValidUTF8(string(r.Title), "\uFFFD"), Content: strings.ToValidUTF8(string(r.Content), "\uFFFD"),
		Timestamp: lxmfTime(r.Timestamp), State: r.State, Method: r.Method, Attempts: r.Attempts,
		Error: r.Error, Verified: r.Verified, CreatedAt: r.CreatedAt,
	}
}

func lxmfTime(ts float64) time.Time {
	return time.UnixMicro(int64(ts * 1e6)).UTC()
}

// stateName maps router states to store states.
func stateName(s router.State) string { return string(s) }
