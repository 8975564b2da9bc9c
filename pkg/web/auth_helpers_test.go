package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/auth"
	"github.com/reticle-mesh/reticle/pkg/store"
)

const ownerPassword = "correct horse battery staple"

// clock is a settable clock; tests never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type authEnv struct {
	srv  *Server
	auth *auth.Service
	st   *store.Store
	clk  *clock
	code string // setup code from Bootstrap
}

// newAuthEnv builds a server with a real store and auth service (cheap argon2id) and a fake clock.
func newAuthEnv(t testing.TB, opts Options, mod func(*auth.Options)) *authEnv {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "reticle.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ao := auth.Options{Now: clk.Now, Hash: auth.HashParams{MemoryKiB: 64, Iterations: 1, Threads: 1}}
	if mod != nil {
		mod(&ao)
	}
	svc, err := auth.New(ao, st)
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.Bootstrap(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(opts, Deps{Store: st, UI: testUI(), Auth: svc})
	if err != nil {
		t.Fatal(err)
	}
	return &authEnv{srv: srv, auth: svc, st: st, clk: clk, code: code}
}

// req describes one request to the handler.
type req struct {
	method, path string
	body         any // marshalled as JSON when not nil
	remote       string
	hdr          map[string]string
	cookies      []*http.Cookie
}

func (e *authEnv) do(r req) *httptest.ResponseRecorder {
	var body io.Reader
	if r.body != nil {
		b, _ := json.Marshal(r.body)
		body = strings.NewReader(string(b))
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.hdr {
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, hr)
	return rec
}

// session is a logged-in browser: its cookies and CSRF token.
type session struct {
	cookies []*http.Cookie
	csrf    string
}

func (s session) cookie(name string) *http.Cookie {
	for _, c := range s.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setup claims the instance and returns the owner's browser session.
func (e *authEnv) setup(t testing.TB) session {
	t.Helper()
	rec := e.do(req{method: "POST", path: "/api/v1/auth/setup", body: map[string]string{"setup_code": e.code, "password": ownerPassword}})
	if rec.Code != 200 {
		t.Fatalf("setup: %d %s", rec.Code, rec.Body)
	}
	return sessionFrom(t, rec)
}

func (e *authEnv) login(t testing.TB, remote string, extra ...*http.Cookie) session {
	t.Helper()
	rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": ownerPassword}, remote: remote, cookies: extra})
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return sessionFrom(t, rec)
}

func sessionFrom(t testing.TB, rec *httptest.ResponseRecorder) session {
	t.Helper()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.CSRFToken == "" {
		t.Fatalf("no csrf token in %s", rec.Body)
	}
	s := session{cookies: rec.Result().Cookies(), csrf: out.CSRFToken}
	if s.cookie(cookieSession) == nil {
		t.Fatal("no session cookie")
	}
	return s
}

// errCode extracts the error code of a JSON error response.
func errCode(rec *httptest.ResponseRecorder) string {
	var body apiError
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return body.Error.Code
}

func trustedLoopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}
