package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/buildinfo"
)

// healthz is liveness: the process answers.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness: the store answers and the startup integrity check did not fail.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ready", "store": "ok"}
	status := http.StatusOK
	if err := s.deps.Store.Ping(ctx); err != nil {
		s.log.Warn("readiness: store unreachable", "err", err)
		body["status"], body["store"], status = "not_ready", "unreachable", http.StatusServiceUnavailable
	}
	if s.deps.Storage != nil {
		// Degraded storage stays 200: the node still serves logins and reads, and a load balancer or
		// orchestrator that pulled or restarted the only instance would lock the owner out of freeing
		// space. Monitors read "storage" (and "status": "degraded").
		st := s.deps.Storage.Storage(ctx)
		body["storage"] = st.Status
		if st.Status != "ok" && status == http.StatusOK {
			body["status"] = "degraded"
		}
	}
	info := s.systemInfo()
	body["integrity"] = info.Integrity
	if info.Integrity.Status == "failed" {
		body["status"], status = "not_ready", http.StatusServiceUnavailable
	}
	return c.JSON(status, body)
}

// system reports version, integrity and feature flags to the UI.
func (s *Server) system(c echo.Context) error {
	return c.JSON(http.StatusOK, s.systemInfo())
}

func (s *Server) systemInfo() SystemInfo {
	if s.deps.System != nil {
		return s.deps.System()
	}
	bi := buildinfo.Get()
	return SystemInfo{Version: bi.Version, Commit: bi.Commit, Date: bi.Date,
		Integrity: Status{Status: "unknown"}, AtRest: Status{Status: "unknown"}, Features: map[string]bool{}}
}
