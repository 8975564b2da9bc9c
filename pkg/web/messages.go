package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// maxMessageBody bounds the JSON body of a send request: 64 KiB of content and 8 MiB of attachments,
// which base64 grows by a third, with room for JSON escaping.
const maxMessageBody = 12 << 20

func (s *Server) messageRoutes() []route {
	return []route{
		{http.MethodGet, "/messages", s.getMessages, ReadAccess},
		{http.MethodPost, "/messages", s.postMessage, FullAccess},
		{http.MethodGet, "/messages/:id", s.getMessage, ReadAccess},
		{http.MethodDelete, "/messages/:id", s.deleteMessage, FullAccess},
		{http.MethodPost, "/messages/:id/retry", s.retryMessage, FullAccess},
		{http.MethodPost, "/messages/:id/cancel", s.cancelMessage, FullAccess},
	}
}

func (s *Server) getMessages(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := m.ListMessages(c.Request().Context(), app.MessageQuery{
		Peer: c.QueryParam("peer"), Before: c.QueryParam("before"), After: c.QueryParam("after"), Limit: limit,
	})
	if err != nil {
		return messagingError(err)
	}
	return noStoreJSON(c, page)
}

func (s *Server) getMessage(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	msg, err := m.GetMessage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return messagingError(err)
	}
	return noStoreJSON(c, msg)
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

func (s *Server) deleteMessage(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	if err := m.DeleteMessage(c.Request().Context(), c.Param("id")); err != nil {
		return messagingError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) retryMessage(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	msg, err := m.RetryMessage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return messagingError(err)
	}
	return c.JSON(http.StatusOK, msg)
}

func (s *Server) cancelMessage(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	msg, err := m.CancelMessage(c.Request().Context(), c.Param("id"))
	if err != nil {
		return messagingError(err)
	}
	return c.JSON(http.StatusOK, msg)
}
