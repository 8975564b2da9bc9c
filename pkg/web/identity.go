package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/auth"
)

// IdentityExporter hands out the identity's private key; *app.App implements it.
type IdentityExporter interface {
	Identity(ctx context.Context) app.IdentityInfo
	ExportIdentity() ([]byte, error)
}

var _ IdentityExporter = (*app.App)(nil)

// PasswordConfirmer re-checks the owner password before a dangerous action; *auth.Service implements it.
type PasswordConfirmer interface {
	ConfirmPassword(ctx context.Context, cl auth.Client, password string) error
}

var _ PasswordConfirmer = (*auth.Service)(nil)

func (s *Server) identityRoutes() []route {
	return []route{
		// A browser session only (never an API token), with CSRF, and the password typed again.
		{http.MethodPost, "/identity/export", s.exportIdentity, SessionAccess},
	}
}

func (s *Server) exportIdentity(c echo.Context) error {
	m, err := s.messaging()
	if err != nil {
		return err
	}
	ex, ok := m.(IdentityExporter)
	_, ok2 := s.deps.Auth.(PasswordConfirmer)
	if !ok || !ok2 {
		return errMessagingUnavailable
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeStrictJSON(c, &in, 4<<10); err != nil {
		return err
	}
	if err := s.confirm(c, in.Password, "the identity was not exported"); err != nil {
		return err
	}
	key, err := ex.ExportIdentity()
	if err != nil {
		return err
	}
	addr := ex.Identity(c.Request().Context()).Address
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="reticle-identity-%s.key"`, addr))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "application/octet-stream", key)
}
