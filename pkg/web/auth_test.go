package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/auth"
)

func TestStatusSetupLoginLogout(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	var st statusResponse
	rec := e.do(req{method: "GET", path: "/api/v1/auth/status"})
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 200 || !st.SetupRequired || st.Authenticated || st.CSRFToken != "" {
		t.Fatalf("fresh status: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": ownerPassword}}); rec.Code != 409 || errCode(rec) != "setup_required" {
		t.Fatalf("login before setup: %d %s", rec.Code, rec.Body)
	}
	for name, body := range map[string]map[string]string{
		"no code":    {"password": ownerPassword},
		"wrong code": {"setup_code": "AAAA-BBBB-CCCC-DDDD", "password": ownerPassword},
	} {
		rec := e.do(req{method: "POST", path: "/api/v1/auth/setup", body: body})
		if rec.Code != 401 || errCode(rec) != "invalid_setup_code" || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	// A form post (what a cross-site HTML form can send) is refused before anything else.
	hr := httptest.NewRequest("POST", "/api/v1/auth/setup", strings.NewReader("setup_code="+e.code+"&password=x"))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rr := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rr, hr)
	if rr.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("form post: %d", rr.Code)
	}
	owner := e.setup(t)
	ck := owner.cookie(cookieSession)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("session cookie over plain HTTP: %+v", ck)
	}
	tr := owner.cookie(cookieTrust)
	if tr == nil || !tr.HttpOnly || tr.Secure || tr.MaxAge <= 0 {
		t.Fatalf("trust cookie: %+v", tr)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/auth/status", cookies: owner.cookies})
	st = statusResponse{}
	_ = json.Unmarshal(rec.Body.Bytes(), &st)
	if st.SetupRequired || !st.Authenticated || st.CSRFToken != owner.csrf {
		t.Fatalf("status after setup: %s", rec.Body)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: owner.cookies}); rec.Code != 200 {
		t.Fatalf("system with session: %d", rec.Code)
	}
	if rec := e.do(req{method: "POST", path: "/api/v1/auth/setup", body: map[string]string{"setup_code": e.code, "password": ownerPassword}}); rec.Code != 409 {
		t.Fatalf("setup twice: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(req{method: "POST", path: "/api/v1/auth/logout", cookies: owner.cookies}); rec.Code != 403 || errCode(rec) != "csrf" {
		t.Fatalf("logout without csrf: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "POST", path: "/api/v1/auth/logout", cookies: owner.cookies, hdr: map[string]string{headerCSRF: owner.csrf}})
	if rec.Code != 204 {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != cookieSession || c[0].MaxAge >= 0 {
		t.Fatalf("logout cookies: %+v", c)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: owner.cookies}); rec.Code != 401 {
		t.Fatalf("system after logout: %d", rec.Code)
	}
	if rec := e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": "wrong password!"}}); rec.Code != 401 || errCode(rec) != "invalid_credentials" {
		t.Fatalf("wrong password: %d %s", rec.Code, rec.Body)
	}
	first := e.login(t, "")
	second := e.login(t, "", first.cookie(cookieSession))
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: []*http.Cookie{first.cookie(cookieSession)}}); rec.Code != 401 {
		t.Fatalf("session carried into a new login still valid: %d", rec.Code)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: second.cookies}); rec.Code != 200 {
		t.Fatalf("new session: %d", rec.Code)
	}
}

func TestCookieSecureOnlyOverHTTPS(t *testing.T) {
	cases := []struct {
		name, target, remote, proto string
		secure                      bool
	}{
		{"plain http", "/api/v1/auth/login", "192.0.2.1:1000", "", false},
		{"direct tls", "https://reticle.example/api/v1/auth/login", "192.0.2.1:1000", "", true},
		{"trusted proxy says https", "/api/v1/auth/login", "127.0.0.1:1000", "https", true},
		{"trusted proxy says http", "/api/v1/auth/login", "127.0.0.1:1000", "http", false},
		{"untrusted peer claims https", "/api/v1/auth/login", "192.0.2.1:1000", "https", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAuthEnv(t, Options{TrustedProxies: trustedLoopback()}, nil)
			e.setup(t)
			hr := httptest.NewRequest("POST", tc.target, strings.NewReader(`{"password":"`+ownerPassword+`"}`))
			hr.Header.Set("Content-Type", "application/json")
			hr.RemoteAddr = tc.remote
			if tc.proto != "" {
				hr.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, hr)
			if rec.Code != 200 {
				t.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
			for _, c := range rec.Result().Cookies() {
				if c.Secure != tc.secure {
					t.Errorf("cookie %s Secure=%v, want %v", c.Name, c.Secure, tc.secure)
				}
			}
			if hsts := rec.Header().Get("Strict-Transport-Security"); (hsts != "") != tc.secure {
				t.Errorf("HSTS %q with https=%v", hsts, tc.secure)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	a := e.setup(t)
	b := e.login(t, "")
	create := func(s session, token string) *httptest.ResponseRecorder {
		h := map[string]string{}
		if token != "" {
			h[headerCSRF] = token
		}
		return e.do(req{method: "POST", path: "/api/v1/auth/tokens", body: map[string]string{"name": "bot", "scope": "read"}, cookies: s.cookies, hdr: h})
	}
	for name, tok := range map[string]string{"missing": "", "wrong": "not-the-token", "other session's": b.csrf, "truncated": a.csrf[:10]} {
		if rec := create(a, tok); rec.Code != 403 || errCode(rec) != "csrf" {
			t.Errorf("%s csrf token: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := create(a, a.csrf); rec.Code != 201 {
		t.Fatalf("right csrf token: %d %s", rec.Code, rec.Body)
	}
	// Safe methods need no CSRF token.
	if rec := e.do(req{method: "GET", path: "/api/v1/auth/tokens", cookies: a.cookies}); rec.Code != 200 {
		t.Fatalf("GET without csrf: %d", rec.Code)
	}
}

func TestTokenScopes(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	owner := e.setup(t)
	mk := func(scope string) (string, string) {
		rec := e.do(req{method: "POST", path: "/api/v1/auth/tokens", body: map[string]string{"name": scope + " bot", "scope": scope},
			cookies: owner.cookies, hdr: map[string]string{headerCSRF: owner.csrf}})
		var out newTokenJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 201 || out.Token == "" || out.ID == "" {
			t.Fatalf("create %s token: %d %s", scope, rec.Code, rec.Body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Error("token response cacheable")
		}
		return out.ID, out.Token
	}
	readID, read := mk("read")
	_, full := mk("full")
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	cases := []struct {
		name, method, path, tok string
		status                  int
		code                    string
	}{
		{"read GET system", "GET", "/api/v1/system", read, 200, ""},
		{"read GET attempts", "GET", "/api/v1/auth/attempts", read, 200, ""},
		{"read POST unknown", "POST", "/api/v1/nothing", read, 403, "insufficient_scope"},
		{"full POST unknown", "POST", "/api/v1/nothing", full, 404, "not_found"},
		{"read create token", "POST", "/api/v1/auth/tokens", read, 403, "session_required"},
		{"full create token", "POST", "/api/v1/auth/tokens", full, 403, "session_required"},
		{"read revoke token", "DELETE", "/api/v1/auth/tokens/" + readID, read, 403, "session_required"},
		{"full change password", "POST", "/api/v1/auth/password", full, 403, "session_required"},
		{"junk token", "GET", "/api/v1/system", "rtk_junk", 401, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(req{method: tc.method, path: tc.path, hdr: bearer(tc.tok), body: map[string]string{}})
			if rec.Code != tc.status || (tc.code != "" && errCode(rec) != tc.code) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.code)
			}
		})
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", hdr: map[string]string{"Authorization": "Basic " + read}}); rec.Code != 401 {
		t.Fatalf("basic scheme: %d", rec.Code)
	}
	// A bearer header wins over a valid cookie: a bad token is not rescued by the session.
	if rec := e.do(req{method: "GET", path: "/api/v1/system", hdr: bearer("rtk_bad"), cookies: owner.cookies}); rec.Code != 401 {
		t.Fatalf("bad bearer with good cookie: %d", rec.Code)
	}
	// Listing never shows the secret; revoking ends it.
	rec := e.do(req{method: "GET", path: "/api/v1/auth/tokens", cookies: owner.cookies})
	if strings.Contains(rec.Body.String(), read) || !strings.Contains(rec.Body.String(), `"scope":"read"`) || !strings.Contains(rec.Body.String(), `"last_used_at":"`) {
		t.Fatalf("token list: %s", rec.Body)
	}
	if rec := e.do(req{method: "DELETE", path: "/api/v1/auth/tokens/" + readID, cookies: owner.cookies, hdr: map[string]string{headerCSRF: owner.csrf}}); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", hdr: bearer(read)}); rec.Code != 401 {
		t.Fatalf("revoked token: %d", rec.Code)
	}
	if rec := e.do(req{method: "DELETE", path: "/api/v1/auth/tokens/" + readID, cookies: owner.cookies, hdr: map[string]string{headerCSRF: owner.csrf}}); rec.Code != 404 {
		t.Fatalf("revoke twice: %d", rec.Code)
	}
}

func TestLoginLockoutOverHTTP(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	e.setup(t)
	wrong := req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": "wrong password!"}, remote: "198.51.100.4:999"}
	for i := range 5 {
		if rec := e.do(wrong); rec.Code != 401 {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
	right := wrong
	right.body = map[string]string{"password": ownerPassword}
	rec := e.do(right)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "300" || errCode(rec) != "rate_limited" {
		t.Fatalf("locked: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	e.clk.Advance(299 * time.Second)
	if rec := e.do(right); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("a second before release: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	e.clk.Advance(time.Second)
	if rec := e.do(right); rec.Code != 200 {
		t.Fatalf("after release: %d %s", rec.Code, rec.Body)
	}
	// 20 attempts per minute per address and path, counted before the password is looked at.
	other := req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": ownerPassword}, remote: "198.51.100.5:999"}
	for i := range 20 {
		if rec := e.do(other); rec.Code != 200 {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	if rec := e.do(other); rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("21st attempt in a minute: %d", rec.Code)
	}
}

func TestSpoofedForwardedForIgnoredFromUntrustedPeers(t *testing.T) {
	e := newAuthEnv(t, Options{TrustedProxies: trustedLoopback()}, nil)
	e.setup(t)
	attempt := func(remote, xff string) int {
		return e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": "wrong password!"},
			remote: remote, hdr: map[string]string{"X-Forwarded-For": xff, "X-Real-IP": xff}}).Code
	}
	// Untrusted peer: rotating the header does not escape the lockout of its socket address.
	for i := range 5 {
		attempt("192.0.2.66:1", fmt.Sprintf("203.0.113.%d", i))
	}
	if code := attempt("192.0.2.66:1", "203.0.113.200"); code != 429 {
		t.Fatalf("untrusted peer with fresh X-Forwarded-For: %d, want 429", code)
	}
	// Trusted proxy: each forwarded client has its own budget.
	for range 5 {
		attempt("127.0.0.1:1", "198.51.100.1")
	}
	if code := attempt("127.0.0.1:1", "198.51.100.1"); code != 429 {
		t.Fatalf("forwarded client after 5 failures: %d", code)
	}
	if code := attempt("127.0.0.1:1", "198.51.100.2"); code != 401 {
		t.Fatalf("other forwarded client: %d, want 401", code)
	}
	atts, _ := e.auth.Attempts(context.Background(), 100)
	seen := map[string]bool{}
	for _, a := range atts {
		seen[a.IP] = true
	}
	if !seen["192.0.2.66"] || seen["203.0.113.0"] || seen["203.0.113.200"] || !seen["198.51.100.2"] || seen["127.0.0.1"] {
		t.Fatalf("attempt log ips: %v", seen)
	}
}

func TestTrustedBrowserAdmittedDuringBroadAttack(t *testing.T) {
	e := newAuthEnv(t, Options{TrustedProxies: trustedLoopback()}, nil)
	owner := e.setup(t)
	trust := owner.cookie(cookieTrust)
	for i := range 60 {
		e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": "guess!guess!guess"},
			remote: "127.0.0.1:1", hdr: map[string]string{"X-Forwarded-For": fmt.Sprintf("10.7.%d.%d", i/200, i%200)}})
	}
	good := req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"password": ownerPassword},
		remote: "127.0.0.1:1", hdr: map[string]string{"X-Forwarded-For": "192.0.2.200"}}
	if rec := e.do(good); rec.Code != 429 {
		t.Fatalf("untrusted browser during broad attack: %d", rec.Code)
	}
	good.cookies = []*http.Cookie{trust}
	if rec := e.do(good); rec.Code != 200 {
		t.Fatalf("trusted browser during broad attack: %d %s", rec.Code, rec.Body)
	}
	forged := *trust
	forged.Value = strings.Replace(trust.Value, ".", "x.", 1)
	good.cookies = []*http.Cookie{&forged}
	if rec := e.do(good); rec.Code != 429 {
		t.Fatalf("forged trust marker: %d", rec.Code)
	}
}

func TestSessionsPasswordAndAttemptsEndpoints(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	a := e.setup(t)
	b := e.login(t, "198.51.100.9:4")
	rec := e.do(req{method: "GET", path: "/api/v1/auth/sessions", cookies: a.cookies})
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 2 {
		t.Fatalf("sessions: %s", rec.Body)
	}
	for _, k := range []string{"id", "created_at", "last_seen_at", "ip", "user_agent", "current"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("session json lacks %q", k)
		}
	}
	if list[0]["current"] != false || list[1]["current"] != true || list[0]["ip"] != "198.51.100.9" {
		t.Fatalf("sessions: %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), a.cookie(cookieSession).Value) {
		t.Fatal("session list leaks a session secret")
	}
	// Revoke b from a.
	if rec := e.do(req{method: "DELETE", path: "/api/v1/auth/sessions/" + list[0]["id"].(string), cookies: a.cookies, hdr: map[string]string{headerCSRF: a.csrf}}); rec.Code != 204 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: b.cookies}); rec.Code != 401 {
		t.Fatalf("revoked session: %d", rec.Code)
	}
	// Password change ends the other sessions and keeps this one.
	c := e.login(t, "")
	pw := func(cur, next string) *httptest.ResponseRecorder {
		return e.do(req{method: "POST", path: "/api/v1/auth/password", body: map[string]string{"current_password": cur, "new_password": next},
			cookies: a.cookies, hdr: map[string]string{headerCSRF: a.csrf}})
	}
	if rec := pw("wrong password!", "new password 12345"); rec.Code != 401 {
		t.Fatalf("wrong current: %d", rec.Code)
	}
	if rec := pw(ownerPassword, "short"); rec.Code != 400 || errCode(rec) != "weak_password" {
		t.Fatalf("weak: %d %s", rec.Code, rec.Body)
	}
	if rec := pw(ownerPassword, "new password 12345"); rec.Code != 204 {
		t.Fatalf("change: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: c.cookies}); rec.Code != 401 {
		t.Fatalf("other session after password change: %d", rec.Code)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/system", cookies: a.cookies}); rec.Code != 200 {
		t.Fatalf("own session after password change: %d", rec.Code)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/auth/attempts?limit=3", cookies: a.cookies})
	var atts []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &atts); err != nil || len(atts) != 3 {
		t.Fatalf("attempts: %s", rec.Body)
	}
	for _, k := range []string{"time", "ip", "user_agent", "path", "outcome"} {
		if _, ok := atts[0][k]; !ok {
			t.Errorf("attempt json lacks %q", k)
		}
	}
	if atts[0]["outcome"] != "success" || atts[0]["path"] != "/api/v1/auth/password" || atts[2]["outcome"] != "failure" {
		t.Fatalf("attempts: %s", rec.Body)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/auth/attempts?limit=x", cookies: a.cookies}); rec.Code != 400 {
		t.Fatalf("bad limit: %d", rec.Code)
	}
}

func TestCheckOrigin(t *testing.T) {
	e := newAuthEnv(t, Options{TrustedProxies: trustedLoopback()}, nil)
	cases := []struct {
		name, target, remote, proto, origin string
		ok                                  bool
	}{
		{"same origin", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "http://reticle.lan:8000", true},
		{"case-insensitive host", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "http://RETICLE.lan:8000", true},
		{"missing", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "", false},
		{"null", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "null", false},
		{"other host", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "http://evil.example", false},
		{"other port", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "http://reticle.lan:8001", false},
		{"suffix trick", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "http://reticle.lan:8000.evil.example", false},
		{"scheme mismatch", "http://reticle.lan:8000/api/v1/ws", "192.0.2.1:1", "", "https://reticle.lan:8000", false},
		{"behind tls proxy", "http://reticle.example/api/v1/ws", "127.0.0.1:1", "https", "https://reticle.example", true},
		{"behind tls proxy, http origin", "http://reticle.example/api/v1/ws", "127.0.0.1:1", "https", "http://reticle.example", false},
		{"path in origin", "http://reticle.lan/api/v1/ws", "192.0.2.1:1", "", "http://reticle.lan/x", false},
		{"userinfo", "http://reticle.lan/api/v1/ws", "192.0.2.1:1", "", "http://a@reticle.lan", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hr := httptest.NewRequest("GET", tc.target, nil)
			hr.RemoteAddr = tc.remote
			if tc.origin != "" {
				hr.Header.Set("Origin", tc.origin)
			}
			if tc.proto != "" {
				hr.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			c := e.srv.e.NewContext(hr, httptest.NewRecorder())
			if err := e.srv.checkOrigin(c); (err == nil) != tc.ok {
				t.Fatalf("checkOrigin = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// FuzzLogin throws random passwords, content types, cookies and forwarding headers at the login route:
// it must never answer 5xx and never open a session without the right password.
func FuzzLogin(f *testing.F) {
	e := newAuthEnv(f, Options{TrustedProxies: trustedLoopback()}, func(o *auth.Options) {
		o.Limits.RateAttempts, o.Limits.RateWindow = 1000000, time.Minute
		o.Limits.FailThreshold, o.Limits.FailWindow, o.Limits.LockoutBase, o.Limits.LockoutMax = 3, time.Minute, time.Minute, time.Hour
		o.Limits.LevelReset, o.Limits.MaxKeys = time.Hour, 64
	})
	e.setup(f)
	f.Add(`{"password":"hunter2hunter2"}`, "application/json", "10.0.0.1", "127.0.0.1:1", "reticle_trust=a.b.c", "Bearer x")
	f.Add(`{"password":""}`, "application/json; charset=utf-8", "::1, 10.0.0.2", "[::1]:2", "reticle_session=AAAA", "")
	f.Add(`{"password":null}`, "text/plain", "", "192.0.2.1:3", "", "")
	f.Add(`[`, "application/json", "not-an-ip", "127.0.0.1:4", "reticle_trust="+strings.Repeat("x", 200), "Basic Zm9v")
	f.Add(`{"password":"`+strings.Repeat("p", 5000)+`"}`, "application/json", "2001:db8::1", "127.0.0.1:5", "", "")
	f.Fuzz(func(t *testing.T, body, ctype, xff, remote, cookie, authz string) {
		hr := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(body))
		hr.Header.Set("Content-Type", ctype)
		hr.Header.Set("X-Forwarded-For", xff)
		hr.Header.Set("Cookie", cookie)
		hr.Header.Set("Authorization", authz)
		hr.RemoteAddr = remote
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, hr)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		var in struct {
			Password string `json:"password"`
		}
		correct := json.Unmarshal([]byte(body), &in) == nil && in.Password == ownerPassword
		for _, c := range rec.Result().Cookies() {
			if c.Name == cookieSession && c.Value != "" && !correct {
				t.Fatalf("session opened for body %q", body)
			}
		}
		if rec.Code == 200 && !correct {
			t.Fatalf("200 for body %q", body)
		}
		if rec.Code == 429 {
			if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("429 without Retry-After")
			}
		}
	})
}
