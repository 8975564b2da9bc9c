package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reticle-mesh/reticle/pkg/auth"
)

// Cookie and header names of the auth contract.
const (
	cookieSession = "reticle_session"
	cookieTrust   = "reticle_trust"
	headerCSRF    = "X-CSRF-Token"
	principalKey  = "reticle.principal"
	trustPath     = "/api/v1/auth"
)

var errUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "authentication required"}

// principal resolves the caller: a bearer token when an Authorization header is present (it wins over a
// cookie), else the session cookie. Anything else is 401.
func (s *Server) principal(c echo.Context) (auth.Principal, error) {
	ctx := c.Request().Context()
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return auth.Principal{}, errUnauthorized
		}
		p, err := s.deps.Auth.AuthenticateToken(ctx, strings.TrimSpace(tok))
		return p, authErr(err)
	}
	ck, err := c.Cookie(cookieSession)
	if err != nil || ck.Value == "" {
		return auth.Principal{}, errUnauthorized
	}
	p, err := s.deps.Auth.AuthenticateSession(ctx, ck.Value)
	return p, authErr(err)
}

// currentPrincipal is the principal requireAuth stored for the handler.
func currentPrincipal(c echo.Context) (auth.Principal, bool) {
	p, ok := c.Get(principalKey).(auth.Principal)
	return p, ok
}

// client describes the caller to the auth service: trusted-proxy-aware IP, user agent, the matched route
// and the trusted-client marker's id if it carries a valid one.
func (s *Server) client(c echo.Context) auth.Client {
	cl := auth.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent(), Path: c.Path()}
	if ck, err := c.Cookie(cookieTrust); err == nil {
		cl.TrustID = s.deps.Auth.TrustID(c.Request().Context(), ck.Value)
	}
	return cl
}

// setSessionCookies hands a new session (and a refreshed trust marker) to the browser.
func (s *Server) setSessionCookies(c echo.Context, ns *auth.NewSession) {
	secure := s.isHTTPS(c.Request())
	c.SetCookie(&http.Cookie{Name: cookieSession, Value: ns.Secret, Path: "/", Expires: ns.ExpiresAt,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	if ns.TrustMarker != "" {
		ttl := s.deps.Auth.TrustTTL()
		c.SetCookie(&http.Cookie{Name: cookieTrust, Value: ns.TrustMarker, Path: trustPath,
			MaxAge: int(ttl / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	}
}

// clearSessionCookie removes the session cookie (the trust marker stays: it is what lets this browser in
// during a broad attack).
func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: cookieSession, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.isHTTPS(c.Request()), SameSite: http.SameSiteLaxMode})
}

// checkOrigin guards websocket upgrades (and any cookie-authenticated cross-origin-sensitive request):
// the browser's Origin must be exactly this server's own origin, scheme included. A missing or "null"
// Origin is refused; bearer-token clients that send no Origin are the caller's decision, not this check's.
func (s *Server) checkOrigin(c echo.Context) error {
	bad := &Error{Status: http.StatusForbidden, Code: "bad_origin", Message: "cross-origin request refused"}
	o := c.Request().Header.Get(echo.HeaderOrigin)
	if o == "" || o == "null" {
		return bad
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return bad
	}
	scheme := "http"
	if s.isHTTPS(c.Request()) {
		scheme = "https"
	}
	if !strings.EqualFold(u.Scheme, scheme) || !strings.EqualFold(u.Host, c.Request().Host) {
		return bad
	}
	return nil
}

// authErr maps auth service errors to API errors; unknown errors stay internal (500, logged).
func authErr(err error) error {
	if err == nil {
		return nil
	}
	var le *auth.LimitError
	switch {
	case errors.As(err, &le):
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many attempts, try again later", RetryAfter: le.RetryAfterSeconds()}
	case errors.Is(err, auth.ErrUnauthenticated):
		return errUnauthorized
	case errors.Is(err, auth.ErrBadCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "wrong password"}
	case errors.Is(err, auth.ErrBadSetupCode):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_setup_code",
			Message: "wrong or expired setup code (restart reticle to print a new one)"}
	case errors.Is(err, auth.ErrSetupRequired):
		return &Error{Status: http.StatusConflict, Code: "setup_required", Message: "set the owner password first"}
	case errors.Is(err, auth.ErrSetupDone):
		return &Error{Status: http.StatusConflict, Code: "setup_done", Message: "setup is already done"}
	case errors.Is(err, auth.ErrWeakPassword):
		return &Error{Status: http.StatusBadRequest, Code: "weak_password", Message: auth.ErrWeakPassword.Error()}
	case errors.Is(err, auth.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error()}
	case errors.Is(err, auth.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, auth.ErrTooMany):
		return &Error{Status: http.StatusConflict, Code: "limit_reached", Message: err.Error()}
	}
	return err
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
