package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/logring"
)

// LogSource is the ring of recent log records (pkg/logring).
type LogSource interface {
	Recent(min slog.Level, limit int) []logring.Record
}

// maxLogLimit caps one page of GET /api/v1/debug/logs.
const maxLogLimit = 1000

func (s *Server) debugRoutes() []route {
	return []route{{http.MethodGet, "/debug/logs", s.debugLogs, ReadAccess}}
}

// debugLogs answers the most recent log records, newest first, at or above ?level= (debug, info, warn,
// error; default debug), at most ?limit= (default 200, cap 1000). Secrets are redacted by the ring.
func (s *Server) debugLogs(c echo.Context) error {
	if s.deps.Logs == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the log ring is not running"}
	}
	level := slog.LevelDebug
	if v := c.QueryParam("level"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "level: want debug, info, warn or error"}
		}
	}
	limit := 200
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogLimit {
			return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "limit: want a number from 1 to 1000"}
		}
		limit = n
	}
	recs := s.deps.Logs.Recent(level, limit)
	if recs == nil {
		recs = []logring.Record{}
	}
	return noStoreJSON(c, map[string]any{"items": recs})
}
