package web

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// publicRoutes is every route that answers without credentials. Adding a public route means adding it
// here, on purpose; any other route the router knows must answer 401 to an anonymous caller.
var publicRoutes = map[string]bool{
	"GET /healthz":            true,
	"HEAD /healthz":           true,
	"GET /readyz":             true,
	"GET /*":                  true, // the UI (never serves /api paths)
	"HEAD /*":                 true,
	"GET /api/v1/auth/status": true,
	"POST /api/v1/auth/setup": true,
	"POST /api/v1/auth/login": true,
}

// TestEveryRouteRequiresAuth walks Echo's route table, so a new route cannot be forgotten: each one
// either is on the public list or answers 401 without credentials, with junk credentials, and with a
// forged cookie.
func TestEveryRouteRequiresAuth(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	e.setup(t) // the owner exists, so login/setup are in their steady state
	routes := e.srv.e.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes: route table not walked", len(routes))
	}
	seenPublic := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if publicRoutes[key] {
			seenPublic[key] = true
			continue
		}
		path := concretePath(r.Path)
		creds := map[string]req{
			"none":          {},
			"junk bearer":   {hdr: map[string]string{"Authorization": "Bearer rtk_" + strings.Repeat("A", 43)}},
			"basic":         {hdr: map[string]string{"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="}},
			"forged cookie": {cookies: []*http.Cookie{{Name: cookieSession, Value: strings.Repeat("A", 43)}}},
		}
		for name, c := range creds {
			c.method, c.path = r.Method, path
			rec := e.do(c)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s (as %s) with %s credentials: status %d, want 401", key, path, name, rec.Code)
			}
		}
	}
	for k := range publicRoutes {
		if !seenPublic[k] {
			t.Errorf("public route %s not registered (stale list)", k)
		}
	}
	// The route table itself must not declare a public /api route that is not on the list above.
	for _, r := range e.srv.apiRoutes() {
		if r.access == Public && !publicRoutes[r.method+" /api/v1"+r.path] {
			t.Errorf("route %s %s is Public but not on the reviewed public list", r.method, r.path)
		}
	}
}

func concretePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || s == "*" {
			segs[i] = "x"
		}
	}
	return strings.Join(segs, "/")
}

// trickyPaths try to reach protected handlers through suffixes, encodings, dot segments, doubled
// slashes, case changes and trailing slashes (the MeshChatX class of bypass).
var trickyPaths = []string{
	"/api/v1/system", "/api/v1/system.js", "/api/v1/system.json", "/api/v1/system.css", "/api/v1/system/",
	"/api/v1/system/.", "/api/v1/system/x.js", "/api/v1/System", "/API/V1/SYSTEM", "/Api/v1/system",
	"//api/v1/system", "///api/v1/system", "/api//v1/system", "/api/v1//system", "/./api/v1/system",
	"/api/v1/./system", "/api/v1/x/../system", "/api/v1/%2e%2e/v1/system", "/api/v1/%2E%2E/v1/system",
	"/api/v1/%2e/system", "/api%2fv1%2fsystem", "/api/v1%2fsystem", "/api/v1/syst%65m", "/api/v1/system%00.js",
	"/api/v1/system;.js", "/api/v1/system?.js", "/api/v1/system%3f.js", "/api/v1/system%23.js",
	"/api/v1/auth/status/../../system", "/api/v1/auth/status/..%2f..%2fsystem", "/api/v1/auth/status%2f..%2f..%2fsystem",
	"/api/v1/auth/login/../tokens", "/api/v1/auth/tokens.json", "/api/v1/auth/tokens/", "/api/v1/auth/TOKENS",
	"/api/v1/auth/sessions.js", "/api/v1/auth/attempts/", "/api/v1/auth/attempts.json", "/healthz/../api/v1/system",
	"/assets/../api/v1/system", "/index.html/../api/v1/auth/tokens", "/api/v1/auth/setup/../tokens",
	"/%61pi/v1/system", "/api/v1/auth/status.js", "/api/v1/auth/status/", "/api/v1/auth/status;x",
}

// TestTrickyPathsNeverLeak sends each tricky path as a raw request line over loopback, so no client
// library normalises it first, and checks that nothing answers 2xx without credentials.
func TestTrickyPathsNeverLeak(t *testing.T) {
	e := newAuthEnv(t, Options{Listen: "127.0.0.1:0"}, nil)
	e.setup(t)
	if err := e.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.srv.Close() }()
	// The raw client must reach the router: the plain path answers 401, not 400.
	if status, _, err := rawRequest(e.srv.Addr(), "GET", "/api/v1/system"); err != nil || status != 401 {
		t.Fatalf("baseline: %d %v", status, err)
	}
	counts := map[int]int{}
	for _, p := range trickyPaths {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			status, body, err := rawRequest(e.srv.Addr(), m, p)
			if err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			counts[status]++
			if status >= 200 && status < 300 {
				t.Errorf("%s %s: status %d without credentials: %.200s", m, p, status, body)
			}
			if strings.Contains(body, `"version"`) || strings.Contains(body, "<!doctype") {
				t.Errorf("%s %s leaked content: %.200s", m, p, body)
			}
		}
	}
	t.Logf("status counts: %v", counts)
}

func rawRequest(addr, method, target string) (int, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	body := ""
	extra := ""
	if method == "POST" {
		body = "{}"
		extra = "Content-Type: application/json\r\n"
	}
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: reticle.test\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s", method, target, extra, len(body), body); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	var sb strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	sb.Write(buf[:n])
	return resp.StatusCode, sb.String(), nil
}

// TestUnknownAuthPathsWithSession checks that a logged-in caller still gets 404 (not a UI page or another
// handler) for near-miss paths: the route match is exact.
func TestUnknownAuthPathsWithSession(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	owner := e.setup(t)
	for _, p := range []string{"/api/v1/auth/tokens.json", "/api/v1/auth/TOKENS", "/api/v1/system.js", "/api/v1/auth/tokens/x/y"} {
		rec := e.do(req{method: "GET", path: p, cookies: owner.cookies})
		if rec.Code != 404 {
			t.Errorf("%s with session: %d, want 404", p, rec.Code)
		}
	}
}
