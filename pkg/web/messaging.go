package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Messaging is the LXMF use cases behind /api/v1/identity, /announce, /peers, /conversations and
// /messages; *app.App implements it. With none, those routes answer 503 unavailable.
type Messaging interface {
	Identity(ctx context.Context) app.IdentityInfo
	Announce(ctx context.Context) error
	ListPeers(ctx context.Context, q app.PeerQuery) (app.PeerPage, error)
	Send(ctx context.Context, req app.SendRequest) (app.Message, error)
	ListMessages(ctx context.Context, q app.MessageQuery) (app.MessagePage, error)
	GetMessage(ctx context.Context, id string) (app.Message, error)
	DeleteMessage(ctx context.Context, id string) error
	RetryMessage(ctx context.Context, id string) (app.Message, error)
	CancelMessage(ctx context.Context, id string) (app.Message, error)
	OpenAttachment(ctx context.Context, id string, index int) (app.AttachmentContent, error)
	ListConversations(ctx context.Context, q app.ConversationQuery) (app.ConversationPage, error)
	MarkRead(ctx context.Context, peer string) error
	DeleteConversation(ctx context.Context, peer string) error
}

var _ Messaging = (*app.App)(nil)

// messagingRoutes are the scripting API for messaging: reads need ReadAccess, writes FullAccess.
func (s *Server) messagingRoutes() []route {
	rs := []route{
		{http.MethodGet, "/identity", s.getIdentity, ReadAccess},
		{http.MethodPost, "/announce", s.postAnnounce, FullAccess},
	}
	rs = append(rs, s.peerRoutes()...)
	rs = append(rs, s.conversationRoutes()...)
	rs = append(rs, s.messageRoutes()...)
	rs = append(rs, s.exportRoutes()...)
	rs = append(rs, s.blockRoutes()...)
	rs = append(rs, s.settingsRoutes()...)
	rs = append(rs, s.contactRoutes()...)
	rs = append(rs, s.identityRoutes()...)
	rs = append(rs, s.identitiesRoutes()...)
	return append(rs, s.attachmentRoutes()...)
}

var errMessagingUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "messaging is not running"}

func (s *Server) messaging() (Messaging, error) {
	if s.deps.Messaging == nil {
		return nil, errMessagingUnavailable
	}
	return s.deps.Messaging, nil
}

func (s *Server) getIdentity(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.Identity(c.Request().Context()))
}

func (s *Server) postAnnounce(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	if err := m.Announce(c.Request().Context()); err != nil {
		return messagingError(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "announced"})
}

// queryLimit reads ?limit= (default 50, cut to 500); anything but a positive number is a 400.
func queryLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return app.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, &Error{Status: http.StatusBadRequest, Code: "invalid_limit", Message: "limit must be a positive number (at most 500 are returned)"}
	}
	return app.ClampLimit(n), nil
}

// noStoreJSON answers 200 with v as JSON that is never cached (lists and live state).
func noStoreJSON(c echo.Context, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, v)
}

// messagingError maps the app's input errors to 400 (404 for what does not exist, 409 for a message in
// the wrong state, 413 for attachments over the limit, 503 when nothing could be sent); anything else
// stays internal.
func messagingError(err error) error {
	for _, m := range []struct {
		err  error
		code string
	}{
		{app.ErrInvalidAddress, "invalid_address"},
		{app.ErrInvalidMethod, "invalid_method"},
		{app.ErrMethodUnavailable, "method_unavailable"},
		{app.ErrEmpty, "empty_content"},
		{app.ErrNotUTF8, "not_utf8"},
		{app.ErrTooLarge, "too_large"},
		{app.ErrInvalidField, "invalid_field"},
		{app.ErrInvalidCursor, "invalid_cursor"},
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: http.StatusBadRequest, Code: m.code, Message: err.Error()}
		}
	}
	switch {
	case errors.Is(err, app.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such message, conversation or attachment"}
	case errors.Is(err, app.ErrState):
		return &Error{Status: http.StatusConflict, Code: "wrong_state", Message: app.ErrState.Error()}
	case errors.Is(err, app.ErrNotConnected):
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_connected", Message: "no interface is connected"}
	}
	return err
}
