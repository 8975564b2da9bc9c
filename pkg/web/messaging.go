package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Messaging is the LXMF use cases behind /api/v1/identity, /announce, /peers and /messages; *app.App
// implements it. With none, those routes answer 503 unavailable.
type Messaging interface {
	Identity(ctx context.Context) app.IdentityInfo
	Announce(ctx context.Context) error
	ListPeers(ctx context.Context) ([]app.PeerInfo, error)
	Send(ctx context.Context, req app.SendRequest) (app.Message, error)
	ListMessages(ctx context.Context, peer string) ([]app.Message, error)
}

var _ Messaging = (*app.App)(nil)

// maxMessageBody bounds the JSON body of a send request (content is limited to 64 KiB by default; JSON
// escaping may grow it).
const maxMessageBody = 512 << 10

// messagingRoutes are the scripting API for messaging: reads need ReadAccess, writes FullAccess.
func (s *Server) messagingRoutes() []route {
	return []route{
		{http.MethodGet, "/identity", s.getIdentity, ReadAccess},
		{http.MethodPost, "/announce", s.postAnnounce, FullAccess},
		{http.MethodGet, "/peers", s.getPeers, ReadAccess},
		{http.MethodGet, "/messages", s.getMessages, ReadAccess},
		{http.MethodPost, "/messages", s.postMessage, FullAccess},
	}
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

func (s *Server) getPeers(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	peers, err := m.ListPeers(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, peers)
}

func (s *Server) getMessages(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	msgs, err := m.ListMessages(c.Request().Context(), c.QueryParam("peer"))
	if err != nil {
		return messagingError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, msgs)
}

func (s *Server) postMessage(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	var req app.SendRequest
	if err := decodeStrictJSON(c, &req, maxMessageBody); err != nil {
		return err
	}
	msg, err := m.Send(c.Request().Context(), req)
	if err != nil {
		return messagingError(err)
	}
	return c.JSON(http.StatusAccepted, msg)
}

// messagingError maps the app's input errors to 400 (or 503 when nothing could be sent); anything else
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
	} {
		if errors.Is(err, m.err) {
			return &Error{Status: http.StatusBadRequest, Code: m.code, Message: err.Error()}
		}
	}
	if errors.Is(err, app.ErrNotConnected) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_connected", Message: "no interface is connected"}
	}
	return err
}
