package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// Exporter writes an export archive of one conversation or of every message (pkg/app Export).
type Exporter interface {
	Export(ctx context.Context, peer string, w io.Writer) error
}

func (s *Server) exportRoutes() []route {
	return []route{{http.MethodGet, "/export", s.getExport, ReadAccess}}
}

// getExport streams a zip of messages.json and the attachments: ?peer= one conversation, without it
// every message. The peer is checked before the first byte is sent; a failure later can only cut the
// download short (the zip is then unreadable, never silently partial) and is logged.
func (s *Server) getExport(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	ex, ok := m.(Exporter)
	if !ok {
		return errMessagingUnavailable
	}
	peer := strings.TrimSpace(c.QueryParam("peer"))
	if peer != "" {
		h, err := app.ParseAddress(peer)
		if err != nil {
			return messagingError(err)
		}
		peer = h.String()
	}
	h := c.Response().Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+app.ExportName(peer, time.Now())+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	if err := ex.Export(c.Request().Context(), peer, c.Response()); err != nil {
		s.log.Warn("export cut short", "error", err)
	}
	return nil
}
