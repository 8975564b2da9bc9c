package web

import (
	"github.com/labstack/echo/v4"
)

// Access is what a route requires of its caller. It is declared next to each route in routes.go, so the
// auth decision follows the matched route, never the raw path.
type Access int

// Access levels.
const (
	Public     Access = iota // anyone (health, login, setup status)
	ReadAccess               // a session or any API token
	FullAccess               // a session (with CSRF on state changes) or a full-scope API token
)

// Authenticator is the auth service behind the slot. Until the security work fills it, there is none
// and every protected route is denied.
type Authenticator interface{}

// requireAuth is the one auth middleware slot every /api/v1 route passes through.
func (s *Server) requireAuth(access Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if access == Public {
				return next(c)
			}
			return &Error{Status: 401, Code: "unauthorized", Message: "authentication required"}
		}
	}
}

// authRoutes are the /api/v1/auth routes; the security work adds them.
func (s *Server) authRoutes() []route { return nil }
