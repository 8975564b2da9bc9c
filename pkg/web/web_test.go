package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
)

type fakeStore struct{ err error }

func (f fakeStore) Ping(context.Context) error { return f.err }

func testUI() fstest.MapFS {
	return fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>Reticle</title><script type=module src=/assets/app-abc123.js></script>")},
		"assets/app-abc123.js": {Data: []byte("console.log(1)")},
		"favicon.svg":          {Data: []byte("<svg/>")},
	}
}

func newTestServer(t *testing.T, opts Options, deps Deps) *Server {
	t.Helper()
	if deps.Store == nil {
		deps.Store = fakeStore{}
	}
	if deps.UI == nil {
		deps.UI = testUI()
	}
	s, err := New(opts, deps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(s *Server, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := newTestServer(t, Options{}, Deps{})
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200},
		{"HEAD", "/", 200},
		{"GET", "/assets/app-abc123.js", 200},
		{"GET", "/security", 200},
		{"GET", "/missing.png", 404},
		{"GET", "/healthz", 200},
		{"POST", "/healthz", 405},
		{"GET", "/api/v1/anything", 401},
		{"GET", "/api/v1/system", 401},
		{"DELETE", "/api/v1", 401},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := do(s, tc.method, tc.path, nil, nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.status, rec.Body)
			}
			h := rec.Header()
			if h.Get("Content-Security-Policy") != CSP {
				t.Errorf("CSP = %q", h.Get("Content-Security-Policy"))
			}
			for _, forbidden := range []string{"unsafe-inline", "unsafe-eval"} {
				if strings.Contains(CSP, forbidden) {
					t.Errorf("CSP allows %s", forbidden)
				}
			}
			for _, k := range []string{"X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy", "X-Request-Id"} {
				if h.Get(k) == "" {
					t.Errorf("missing %s", k)
				}
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS over plain HTTP")
			}
			if rec.Code >= 400 && tc.method != "HEAD" {
				var body apiError
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
					t.Errorf("error body not JSON envelope: %s", rec.Body)
				}
			}
		})
	}
}

func TestAPINeverFallsBackToUI(t *testing.T) {
	s := newTestServer(t, Options{}, Deps{})
	for _, p := range []string{"/api/v1/x.js", "/api/v1/x.json", "/api/v1/", "/api", "/API/v1/system", "//api/v1/system", "/api/v2/x", "/ui/../api/v1/system"} {
		rec := do(s, "GET", p, nil, nil)
		if rec.Code == 200 || strings.Contains(rec.Body.String(), "<!doctype") {
			t.Errorf("%s: status %d body %q", p, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: content type %q", p, ct)
		}
	}
}

func TestStaticCaching(t *testing.T) {
	s := newTestServer(t, Options{}, Deps{})
	rec := do(s, "GET", "/assets/app-abc123.js", nil, nil)
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("hashed asset cache-control %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("js content type %q", ct)
	}
	idx := do(s, "GET", "/messages/abc", nil, nil)
	if idx.Code != 200 || !strings.Contains(idx.Body.String(), "<title>Reticle") || idx.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("SPA fallback: %d %q %q", idx.Code, idx.Header().Get("Cache-Control"), idx.Body)
	}
	again := do(s, "GET", "/", nil, map[string]string{"If-None-Match": idx.Header().Get("ETag")})
	if again.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d", again.Code)
	}
}

func TestErrorsDoNotLeakInternals(t *testing.T) {
	s := newTestServer(t, Options{}, Deps{})
	s.e.GET("/boom", func(echo.Context) error { panic("secret internal detail") })
	s.e.GET("/fail", func(echo.Context) error { return errors.New("db password=hunter2") })
	for _, p := range []string{"/boom", "/fail"} {
		rec := do(s, "GET", p, nil, nil)
		if rec.Code != 500 {
			t.Fatalf("%s: %d", p, rec.Code)
		}
		if b := rec.Body.String(); strings.Contains(b, "secret") || strings.Contains(b, "hunter2") || !strings.Contains(b, `"code":"internal"`) {
			t.Errorf("%s leaked or malformed: %s", p, b)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s := newTestServer(t, Options{BodyLimit: "1K"}, Deps{})
	rec := do(s, "POST", "/api/v1/anything", strings.NewReader(strings.Repeat("x", 4096)), map[string]string{"Content-Type": "application/json"})
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}

func TestReadyz(t *testing.T) {
	ok := newTestServer(t, Options{}, Deps{})
	if rec := do(ok, "GET", "/readyz", nil, nil); rec.Code != 200 {
		t.Fatalf("ready: %d %s", rec.Code, rec.Body)
	}
	down := newTestServer(t, Options{}, Deps{Store: fakeStore{err: errors.New("disk gone")}})
	rec := do(down, "GET", "/readyz", nil, nil)
	if rec.Code != 503 || strings.Contains(rec.Body.String(), "disk gone") {
		t.Fatalf("store down: %d %s", rec.Code, rec.Body)
	}
	failed := newTestServer(t, Options{}, Deps{System: func() SystemInfo {
		return SystemInfo{Integrity: Status{Status: "failed", Message: "manifest signature invalid"}}
	}})
	if rec := do(failed, "GET", "/readyz", nil, nil); rec.Code != 503 {
		t.Fatalf("integrity failed: %d", rec.Code)
	}
}

func TestClientIPAndHTTPS(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	ext := ipExtractor(trusted)
	s := &Server{opts: Options{TrustedProxies: trusted}}
	cases := []struct {
		name, remote, xff, xreal, proto string
		wantIP                          string
		wantHTTPS                       bool
	}{
		{"direct untrusted ignores headers", "192.0.2.7:5555", "203.0.113.9", "203.0.113.10", "https", "192.0.2.7", false},
		{"trusted proxy xff", "127.0.0.1:5555", "203.0.113.9", "", "https", "203.0.113.9", true},
		{"trusted proxy chain skips proxies", "127.0.0.1:5555", "198.51.100.1, 203.0.113.9, 127.0.0.1", "", "", "203.0.113.9", false},
		{"trusted proxy x-real-ip", "[::1]:5555", "", "203.0.113.11", "", "203.0.113.11", false},
		{"trusted proxy garbage xff", "127.0.0.1:5555", "not-an-ip", "", "", "127.0.0.1", false},
		{"xff present: x-real-ip ignored", "127.0.0.1:5555", "not-an-ip", "203.0.113.12", "", "127.0.0.1", false},
		{"xff all proxies: x-real-ip ignored", "127.0.0.1:5555", "127.0.0.1", "203.0.113.12", "", "127.0.0.1", false},
		{"trusted proxy no headers", "127.0.0.1:5555", "", "", "", "127.0.0.1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.xreal != "" {
				r.Header.Set("X-Real-IP", tc.xreal)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := ext(r); got != tc.wantIP {
				t.Errorf("ip = %q, want %q", got, tc.wantIP)
			}
			if got := s.isHTTPS(r); got != tc.wantHTTPS {
				t.Errorf("https = %v, want %v", got, tc.wantHTTPS)
			}
		})
	}
}

func TestHSTSBehindTrustedProxy(t *testing.T) {
	s := newTestServer(t, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}}, Deps{})
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("X-Forwarded-Proto", "https")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS for HTTPS via trusted proxy")
	}
}

func TestStartServeClose(t *testing.T) {
	s := newTestServer(t, Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}, Deps{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("healthz over TCP: %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("server still answering after Close")
	}
}

func TestNewRejectsUIWithoutIndex(t *testing.T) {
	if _, err := New(Options{}, Deps{Store: fakeStore{}, UI: fstest.MapFS{"a.js": {Data: []byte("x")}}}); err == nil {
		t.Fatal("expected error for UI without index.html")
	}
}

func TestAccessLogRecordsTheStatusSent(t *testing.T) {
	var buf strings.Builder
	s := newTestServer(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))}, Deps{})
	rec := do(s, "GET", "/api/v1/system?token=secret", nil, nil)
	if rec.Code != 401 {
		t.Fatalf("status %d", rec.Code)
	}
	logged := buf.String()
	if !strings.Contains(logged, "status=401") || !strings.Contains(logged, "path=/api/v1/system") {
		t.Fatalf("access log does not show the 401 sent:\n%s", logged)
	}
	if strings.Contains(logged, "secret") {
		t.Fatalf("access log leaks the query string:\n%s", logged)
	}
	if strings.Count(logged, "http request") != 1 {
		t.Fatalf("want exactly one access log line:\n%s", logged)
	}
}
