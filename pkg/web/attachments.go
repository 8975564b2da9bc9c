package web

import (
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) attachmentRoutes() []route {
	return []route{
		{http.MethodGet, "/messages/:id/attachments/:index", s.getAttachment, ReadAccess},
	}
}

// getAttachment downloads an attachment. It is always a download (Content-Disposition: attachment,
// application/octet-stream, nosniff) unless ?inline=1 asks for an image whose bytes sniff as PNG, JPEG,
// WebP or GIF; SVG, HTML and everything else a peer sends is never served as something a browser
// renders.
func (s *Server) getAttachment(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	idx, err := strconv.Atoi(c.Param("index"))
	if err != nil || idx < 0 {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such attachment"}
	}
	att, err := m.OpenAttachment(c.Request().Context(), c.Param("id"), idx)
	if err != nil {
		return messagingError(err)
	}
	defer func() { _ = att.Body.Close() }()
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	disposition, ctype := "attachment", "application/octet-stream"
	if c.QueryParam("inline") == "1" && att.InlineType != "" {
		disposition, ctype = "inline", att.InlineType
	}
	h.Set(echo.HeaderContentType, ctype)
	cd := mime.FormatMediaType(disposition, map[string]string{"filename": att.Info.Name})
	if cd == "" {
		cd = disposition
	}
	h.Set(echo.HeaderContentDisposition, cd)
	http.ServeContent(c.Response(), c.Request(), "", modTimeZero, att.Body)
	return nil
}

// modTimeZero leaves Last-Modified out: attachments are content-addressed and never change.
var modTimeZero = time.Time{}
