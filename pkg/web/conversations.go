package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

func (s *Server) conversationRoutes() []route {
	return []route{
		{http.MethodGet, "/conversations", s.getConversations, ReadAccess},
		{http.MethodPost, "/conversations/:peer/read", s.readConversation, FullAccess},
		{http.MethodDelete, "/conversations/:peer", s.deleteConversation, FullAccess},
	}
}

func (s *Server) getConversations(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := m.ListConversations(c.Request().Context(), app.ConversationQuery{Cursor: c.QueryParam("cursor"), Search: c.QueryParam("q"), Limit: limit})
	if err != nil {
		return messagingError(err)
	}
	return noStoreJSON(c, page)
}

func (s *Server) readConversation(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	if err := m.MarkRead(c.Request().Context(), c.Param("peer")); err != nil {
		return messagingError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) deleteConversation(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	if err := m.DeleteConversation(c.Request().Context(), c.Param("peer")); err != nil {
		return messagingError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
