package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/auth"
)

// Access is what a route requires of its caller. It is declared next to each route in the route table, so
// the auth decision follows the matched route, never the raw path. The zero value is FullAccess, so a
// route whose access was left out is the strictest ordinary route, never public.
type Access int

// Access levels.
const (
	FullAccess    Access = iota // a session (with CSRF on state changes) or a full-scope API token
	ReadAccess                  // a session or any API token; read tokens only on GET/HEAD/OPTIONS
	SessionAccess               // a browser session only (credential management); API tokens get 403
	Public                      // anyone (health, login, setup, auth status)
)

// Authenticator is the auth service behind the slot; *auth.Service implements it. With none, every
// protected route answers 401 and the /api/v1/auth routes do not exist.
type Authenticator interface {
	SetupRequired(ctx context.Context) (bool, error)
	Setup(ctx context.Context, cl auth.Client, code, password string) (*auth.NewSession, error)
	Login(ctx context.Context, cl auth.Client, password string) (*auth.NewSession, error)
	Logout(ctx context.Context, p auth.Principal) error
	ChangePassword(ctx context.Context, p auth.Principal, cl auth.Client, current, next string) error
	AuthenticateSession(ctx context.Context, secret string) (auth.Principal, error)
	AuthenticateToken(ctx context.Context, secret string) (auth.Principal, error)
	TrustID(ctx context.Context, marker string) string
	TrustTTL() time.Duration
	ListSessions(ctx context.Context, p auth.Principal) ([]auth.SessionInfo, error)
	RevokeSession(ctx context.Context, publicID string) error
	CreateToken(ctx context.Context, name, scope string) (auth.TokenInfo, string, error)
	ListTokens(ctx context.Context) ([]auth.TokenInfo, error)
	RevokeToken(ctx context.Context, publicID string) error
	Attempts(ctx context.Context, limit int) ([]auth.Attempt, error)
}

var _ Authenticator = (*auth.Service)(nil)

// requireAuth is the one auth middleware every /api/v1 route passes through. It resolves the caller from
// the Authorization header (bearer API token) or the session cookie, enforces the route's access level
// and token scope, and checks the CSRF header on cookie-authenticated state-changing requests.
func (s *Server) requireAuth(access Access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if access == Public {
				return next(c)
			}
			if s.deps.Auth == nil {
				return errUnauthorized
			}
			p, err := s.principal(c)
			if err != nil {
				return err
			}
			if err := authorize(c, access, p); err != nil {
				return err
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
}

// authorize applies the route's access level to an authenticated principal.
func authorize(c echo.Context, access Access, p auth.Principal) error {
	safe := isSafeMethod(c.Request().Method)
	switch access {
	case FullAccess, ReadAccess, SessionAccess:
	default:
		return errUnauthorized // unknown access level: deny
	}
	if p.Kind == auth.KindToken {
		switch {
		case access == SessionAccess:
			return &Error{Status: http.StatusForbidden, Code: "session_required", Message: "this action needs a browser session"}
		case p.Scope != auth.ScopeFull && (access == FullAccess || !safe):
			return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Message: "this token is read-only"}
		}
		return nil
	}
	if !safe && !p.CheckCSRF(c.Request().Header.Get(headerCSRF)) {
		return &Error{Status: http.StatusForbidden, Code: "csrf", Message: "missing or wrong X-CSRF-Token"}
	}
	return nil
}

// authRoutes are the /api/v1/auth routes, present only when an auth service is wired.
func (s *Server) authRoutes() []route {
	if s.deps.Auth == nil {
		return nil
	}
	return []route{
		{http.MethodGet, "/auth/status", s.authStatus, Public},
		{http.MethodPost, "/auth/setup", s.authSetup, Public},
		{http.MethodPost, "/auth/login", s.authLogin, Public},
		{http.MethodPost, "/auth/logout", s.authLogout, SessionAccess},
		{http.MethodPost, "/auth/password", s.authPassword, SessionAccess},
		{http.MethodGet, "/auth/sessions", s.authSessions, ReadAccess},
		{http.MethodDelete, "/auth/sessions/:id", s.authRevokeSession, SessionAccess},
		{http.MethodGet, "/auth/tokens", s.authTokens, ReadAccess},
		{http.MethodPost, "/auth/tokens", s.authCreateToken, SessionAccess},
		{http.MethodDelete, "/auth/tokens/:id", s.authRevokeToken, SessionAccess},
		{http.MethodGet, "/auth/attempts", s.authAttempts, ReadAccess},
	}
}
