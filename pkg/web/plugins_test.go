package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/plugins"
)

// fakePlugins answers with canned data and the registry's errors for marked inputs.
type fakePlugins struct{ installed [][]byte }

func (f *fakePlugins) Install(_ context.Context, pkg []byte) (plugins.Info, error) {
	switch string(pkg) {
	case "unsigned":
		return plugins.Info{}, plugins.ErrUnsigned
	case "old":
		return plugins.Info{}, fmt.Errorf("%w: echo 2.0.0 is installed", plugins.ErrDowngrade)
	}
	f.installed = append(f.installed, pkg)
	return plugins.Info{ID: "echo", Version: "1.0.0"}, nil
}
func (f *fakePlugins) List(context.Context) ([]plugins.Info, error) {
	return []plugins.Info{{ID: "echo"}}, nil
}
func (f *fakePlugins) Get(_ context.Context, id string) (plugins.Info, error) {
	if id != "echo" {
		return plugins.Info{}, plugins.ErrNotFound
	}
	return plugins.Info{ID: id}, nil
}
func (f *fakePlugins) SetGrants(_ context.Context, _ string, caps []plugins.Capability) (plugins.Info, error) {
	for _, c := range caps {
		if c == "fs" {
			return plugins.Info{}, plugins.ErrInvalidGrant
		}
	}
	return plugins.Info{ID: "echo", Granted: caps}, nil
}
func (f *fakePlugins) SetEnabled(context.Context, string, bool) (plugins.Info, error) {
	return plugins.Info{}, fmt.Errorf("%w: reticle.send_message needs capability messages.send", plugins.ErrNotGranted)
}
func (f *fakePlugins) Remove(context.Context, string) error { return nil }
func (f *fakePlugins) Logs(context.Context, string, int) ([]plugins.LogLine, []plugins.AuditEntry, error) {
	return []plugins.LogLine{{Message: "hi"}}, nil, nil
}
func (f *fakePlugins) Audit(context.Context, int) ([]plugins.AuditEntry, error) { return nil, nil }
func (f *fakePlugins) TrustedKeys(context.Context) ([]plugins.PublisherKey, error) {
	return nil, nil
}
func (f *fakePlugins) TrustKey(_ context.Context, name string, pub []byte) (plugins.PublisherKey, error) {
	if len(pub) != 32 {
		return plugins.PublisherKey{}, plugins.ErrInvalidKey
	}
	return plugins.PublisherKey{ID: "0011223344556677", Name: name}, nil
}
func (f *fakePlugins) UntrustKey(context.Context, string) error { return plugins.ErrNotFound }

func TestPluginRoutes(t *testing.T) {
	e := newMsgEnv(t, false)
	fake := &fakePlugins{}
	srv, err := New(Options{}, Deps{Store: e.st, UI: testUI(), Auth: e.auth, Plugins: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	full := func(h map[string]string) map[string]string {
		h["Authorization"] = "Bearer " + e.full
		return h
	}
	for _, c := range []struct {
		body, ctype string
		code        int
		want        string
	}{
		{"pkg", "application/zip", 201, `"id":"echo"`},
		{"unsigned", "application/zip", 422, `"unsigned"`},
		{"old", "application/octet-stream", 409, `echo 2.0.0 is installed`},
		{"pkg", "application/json", 415, ""},
	} {
		rec := do(srv, http.MethodPost, "/api/v1/plugins", strings.NewReader(c.body), full(map[string]string{"Content-Type": c.ctype}))
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("install %q %s: %d %s", c.body, c.ctype, rec.Code, rec.Body)
		}
	}
	if rec := do(srv, http.MethodPost, "/api/v1/plugins", strings.NewReader("pkg"), bearer(e.read)); rec.Code != http.StatusForbidden {
		t.Errorf("install with a read token: %d", rec.Code)
	}
	if len(fake.installed) != 1 {
		t.Fatalf("installed %d", len(fake.installed))
	}
	key32 := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, c := range []struct {
		r    req
		code int
		want string
	}{
		{req{method: "GET", path: "/api/v1/plugins", hdr: bearer(e.read)}, 200, `"id":"echo"`},
		{req{method: "GET", path: "/api/v1/plugins/nope", hdr: bearer(e.read)}, 404, `"not_found"`},
		{req{method: "PUT", path: "/api/v1/plugins/echo/grants", body: map[string][]string{"capabilities": {"log"}}, hdr: bearer(e.read)}, 403, ""},
		{req{method: "PUT", path: "/api/v1/plugins/echo/grants", body: map[string][]string{"capabilities": {"log"}}, hdr: bearer(e.full)}, 200, `"granted_capabilities":["log"]`},
		{req{method: "PUT", path: "/api/v1/plugins/echo/grants", body: map[string][]string{"capabilities": {"fs"}}, hdr: bearer(e.full)}, 400, `"invalid_grant"`},
		{req{method: "PUT", path: "/api/v1/plugins/echo/enabled", body: map[string]bool{"enabled": true}, hdr: bearer(e.full)}, 409, `needs capability messages.send`},
		{req{method: "PUT", path: "/api/v1/plugins/echo/enabled", body: map[string]any{"enabled": true, "x": 1}, hdr: bearer(e.full)}, 400, ""},
		{req{method: "GET", path: "/api/v1/plugins/echo/logs", hdr: bearer(e.read)}, 200, `"lines":[{`},
		{req{method: "GET", path: "/api/v1/plugins/audit", hdr: bearer(e.read)}, 200, `[]`},
		{req{method: "POST", path: "/api/v1/plugins/publishers", body: map[string]string{"name": "me", "public_key": "AAAA"}, hdr: bearer(e.full)}, 400, `"invalid_key"`},
		{req{method: "POST", path: "/api/v1/plugins/publishers", body: map[string]string{"name": "me", "public_key": key32}, hdr: bearer(e.full)}, 201, `"id":"0011223344556677"`},
		{req{method: "DELETE", path: "/api/v1/plugins/publishers/x", hdr: bearer(e.full)}, 404, ""},
		{req{method: "DELETE", path: "/api/v1/plugins/echo", hdr: bearer(e.full)}, 204, ""},
	} {
		rec := e.do(c.r)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d %q", c.r.method, c.r.path, rec.Code, rec.Body, c.code, c.want)
		}
	}
	e2 := newMsgEnv(t, false)
	if rec := e2.do(req{method: "GET", path: "/api/v1/plugins", hdr: bearer(e2.read)}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no plugins: %d", rec.Code)
	}
}
