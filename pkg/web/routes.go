package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// route is one /api/v1 endpoint with the access it requires.
type route struct {
	method string
	path   string // below /api/v1
	h      echo.HandlerFunc
	access Access
}

// apiRoutes is the whole API table. Every entry names its access level; tests walk it.
func (s *Server) apiRoutes() []route {
	rs := []route{
		{http.MethodGet, "/system", s.system, ReadAccess},
		{http.MethodGet, "/storage", s.getStorage, ReadAccess},
	}
	rs = append(rs, s.messagingRoutes()...)
	rs = append(rs, s.propagationRoutes()...)
	rs = append(rs, s.networkRoutes()...)
	rs = append(rs, s.liveRoutes()...)
	rs = append(rs, s.debugRoutes()...)
	rs = append(rs, s.backupRoutes()...)
	rs = append(rs, s.pluginRoutes()...)
	rs = append(rs, s.nomadnetRoutes()...)
	return append(rs, s.authRoutes()...)
}

func (s *Server) routes() error {
	assets, err := loadAssets(s.deps.UI)
	if err != nil {
		return err
	}
	s.e.GET("/healthz", s.healthz)
	s.e.HEAD("/healthz", s.healthz)
	s.e.GET("/readyz", s.readyz)
	api := s.e.Group("/api/v1")
	for _, r := range s.apiRoutes() {
		api.Add(r.method, r.path, r.h, s.requireAuth(r.access))
	}
	// Unknown API paths: authenticate first (401 without credentials), then 404 JSON.
	api.Any("", notFound, s.requireAuth(ReadAccess))
	api.Any("/*", notFound, s.requireAuth(ReadAccess))
	st := s.static(assets)
	s.e.GET("/*", st)
	s.e.HEAD("/*", st)
	return nil
}

func notFound(echo.Context) error { return echo.ErrNotFound }
