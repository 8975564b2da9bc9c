package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// maxAuthBody bounds the JSON body of auth requests (a password is at most 1 KiB).
const maxAuthBody = 16 << 10

type statusResponse struct {
	SetupRequired bool   `json:"setup_required"`
	Authenticated bool   `json:"authenticated"`
	CSRFToken     string `json:"csrf_token,omitempty"`
}

type csrfResponse struct {
	CSRFToken string `json:"csrf_token"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type newTokenJSON struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

type attemptJSON struct {
	Time      time.Time `json:"time"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Path      string    `json:"path"`
	Outcome   string    `json:"outcome"`
}

// authStatus tells the UI whether setup is needed and whether the caller is logged in; for a cookie
// session it also returns the CSRF token, so a reloaded page can continue.
func (s *Server) authStatus(c echo.Context) error {
	required, err := s.deps.Auth.SetupRequired(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	out := statusResponse{SetupRequired: required}
	if p, err := s.principal(c); err == nil {
		out.Authenticated = true
		out.CSRFToken = p.CSRFToken()
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) authSetup(c echo.Context) error {
	var in struct {
		SetupCode string `json:"setup_code"`
		Password  string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ns, err := s.deps.Auth.Setup(c.Request().Context(), s.client(c), in.SetupCode, in.Password)
	if err != nil {
		return authErr(err)
	}
	s.setSessionCookies(c, ns)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, csrfResponse{CSRFToken: ns.CSRFToken})
}

func (s *Server) authLogin(c echo.Context) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ns, err := s.deps.Auth.Login(c.Request().Context(), s.client(c), in.Password)
	if err != nil {
		return authErr(err)
	}
	s.endPreviousSession(c)
	s.setSessionCookies(c, ns)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, csrfResponse{CSRFToken: ns.CSRFToken})
}

// endPreviousSession ends the session a browser still carried when it logged in again, so one browser
// never holds two live sessions and a planted cookie does not survive a login.
func (s *Server) endPreviousSession(c echo.Context) {
	ck, err := c.Cookie(cookieSession)
	if err != nil || ck.Value == "" {
		return
	}
	ctx := c.Request().Context()
	if p, err := s.deps.Auth.AuthenticateSession(ctx, ck.Value); err == nil {
		if err := s.deps.Auth.Logout(ctx, p); err != nil {
			s.log.Warn("could not end the previous session at login", "err", err)
		}
	}
}

func (s *Server) authLogout(c echo.Context) error {
	p, _ := currentPrincipal(c)
	if err := s.deps.Auth.Logout(c.Request().Context(), p); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) authPassword(c echo.Context) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, _ := currentPrincipal(c)
	if err := s.deps.Auth.ChangePassword(c.Request().Context(), p, s.client(c), in.Current, in.New); err != nil {
		return authErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) authSessions(c echo.Context) error {
	p, _ := currentPrincipal(c)
	list, err := s.deps.Auth.ListSessions(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, x := range list {
		out = append(out, sessionJSON{ID: x.PublicID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			IP: x.IP, UserAgent: x.UserAgent, Current: x.Current})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) authRevokeSession(c echo.Context) error {
	if err := s.deps.Auth.RevokeSession(c.Request().Context(), c.Param("id")); err != nil {
		return authErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) authTokens(c echo.Context) error {
	list, err := s.deps.Auth.ListTokens(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(list))
	for _, x := range list {
		out = append(out, tokenJSON{ID: x.PublicID, Name: x.Name, Scope: x.Scope, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) authCreateToken(c echo.Context) error {
	var in struct {
		Name  string `json:"name"`
		Scope string `json:"scope"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	info, secret, err := s.deps.Auth.CreateToken(c.Request().Context(), in.Name, in.Scope)
	if err != nil {
		return authErr(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, newTokenJSON{ID: info.PublicID, Token: secret, Name: info.Name, Scope: info.Scope})
}

func (s *Server) authRevokeToken(c echo.Context) error {
	if err := s.deps.Auth.RevokeToken(c.Request().Context(), c.Param("id")); err != nil {
		return authErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) authAttempts(c echo.Context) error {
	limit := 200
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "limit must be a positive integer"}
		}
		limit = n
	}
	list, err := s.deps.Auth.Attempts(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]attemptJSON, 0, len(list))
	for _, x := range list {
		out = append(out, attemptJSON{Time: x.Time, IP: x.IP, UserAgent: x.UserAgent, Path: x.Path, Outcome: x.Outcome})
	}
	return c.JSON(http.StatusOK, out)
}
