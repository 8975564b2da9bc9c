package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

func (s *Server) peerRoutes() []route {
	return []route{
		{http.MethodGet, "/peers", s.getPeers, ReadAccess},
	}
}

func (s *Server) getPeers(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := m.ListPeers(c.Request().Context(), app.PeerQuery{Cursor: c.QueryParam("cursor"), Search: c.QueryParam("q"), Limit: limit})
	if err != nil {
		return messagingError(err)
	}
	return noStoreJSON(c, page)
}
