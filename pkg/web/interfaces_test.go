package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// fakeNetwork answers with canned data and returns the app's errors for marked inputs.
type fakeNetwork struct{ created []app.InterfaceRequest }

func (f *fakeNetwork) ListInterfaces(context.Context) ([]app.InterfaceInfo, error) {
	return []app.InterfaceInfo{{ID: "flag-1", Name: "boot", Source: app.SourceFlag, State: "up"}}, nil
}

func (f *fakeNetwork) GetInterface(_ context.Context, id string) (app.InterfaceInfo, error) {
	if id != "flag-1" {
		return app.InterfaceInfo{}, app.ErrInterfaceNotFound
	}
	return app.InterfaceInfo{ID: id}, nil
}

func (f *fakeNetwork) CreateInterface(_ context.Context, r app.InterfaceRequest) (app.InterfaceInfo, error) {
	switch *r.URI {
	case "busy":
		return app.InterfaceInfo{}, fmt.Errorf("uri: 127.0.0.1:4242: %w", app.ErrPortInUse)
	case "bad":
		return app.InterfaceInfo{}, fmt.Errorf("%w: uri: want HOST:PORT", app.ErrInvalidInterface)
	}
	f.created = append(f.created, r)
	return app.InterfaceInfo{ID: "7", URI: *r.URI, Source: app.SourceStored}, nil
}

func (f *fakeNetwork) UpdateInterface(_ context.Context, id string, _ app.InterfaceRequest) (app.InterfaceInfo, error) {
	if id == "flag-1" {
		return app.InterfaceInfo{}, app.ErrInterfaceReadOnly
	}
	return app.InterfaceInfo{ID: id}, nil
}

func (f *fakeNetwork) DeleteInterface(context.Context, string) error { return nil }
func (f *fakeNetwork) PathsPage(context.Context, int, string) (app.PathPage, error) {
	return app.PathPage{Items: []app.PathInfo{{Hops: 1}}}, nil
}
func (f *fakeNetwork) Path(context.Context, string) (app.PathInfo, error) {
	return app.PathInfo{}, app.ErrNoPath
}
func (f *fakeNetwork) RequestPath(_ context.Context, d string) error {
	if d == "zz" {
		return app.ErrInvalidAddress
	}
	return nil
}
func (f *fakeNetwork) DropPath(context.Context, string) error { return errors.New("boom") }

func TestInterfaceRoutes(t *testing.T) {
	e := newMsgEnv(t, false)
	fake := &fakeNetwork{}
	srv, err := New(Options{}, Deps{Store: e.st, UI: testUI(), Auth: e.auth, Network: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	for _, c := range []struct {
		r    req
		code int
		want string
	}{
		{req{method: "GET", path: "/api/v1/interfaces", hdr: bearer(e.read)}, 200, `"source":"flag"`},
		{req{method: "GET", path: "/api/v1/interfaces/9", hdr: bearer(e.read)}, 404, `"not_found"`},
		{req{method: "POST", path: "/api/v1/interfaces", body: map[string]string{"uri": "tcp-client://h:1"}, hdr: bearer(e.read)}, 403, ""},
		{req{method: "POST", path: "/api/v1/interfaces", body: map[string]string{"uri": "tcp-client://h:1"}, hdr: bearer(e.full)}, 201, `"id":"7"`},
		{req{method: "POST", path: "/api/v1/interfaces", body: map[string]string{"uri": "busy"}, hdr: bearer(e.full)}, 409, `uri: 127.0.0.1:4242: address already in use`},
		{req{method: "POST", path: "/api/v1/interfaces", body: map[string]string{"uri": "bad"}, hdr: bearer(e.full)}, 400, `"invalid_interface"`},
		{req{method: "POST", path: "/api/v1/interfaces", body: map[string]string{"url": "x"}, hdr: bearer(e.full)}, 400, ""},
		{req{method: "PATCH", path: "/api/v1/interfaces/flag-1", body: map[string]bool{"enabled": false}, hdr: bearer(e.full)}, 409, `"read_only"`},
		{req{method: "PATCH", path: "/api/v1/interfaces/7", body: map[string]bool{"enabled": false}, hdr: bearer(e.full)}, 200, `"id":"7"`},
		{req{method: "DELETE", path: "/api/v1/interfaces/7", hdr: bearer(e.full)}, 204, ""},
		{req{method: "GET", path: "/api/v1/paths", hdr: bearer(e.read)}, 200, `"hops":1`},
		{req{method: "GET", path: "/api/v1/paths/" + strings.Repeat("ab", 16), hdr: bearer(e.read)}, 404, `"no_path"`},
		{req{method: "POST", path: "/api/v1/paths/zz", hdr: bearer(e.full)}, 400, `"invalid_address"`},
		{req{method: "POST", path: "/api/v1/paths/" + strings.Repeat("ab", 16), hdr: bearer(e.full)}, 202, `"requested"`},
		{req{method: "DELETE", path: "/api/v1/paths/" + strings.Repeat("ab", 16), hdr: bearer(e.full)}, 500, `"internal"`},
	} {
		rec := e.do(c.r)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d %q", c.r.method, c.r.path, rec.Code, rec.Body, c.code, c.want)
		}
	}
	if len(fake.created) != 1 {
		t.Fatalf("created %d", len(fake.created))
	}
	// Without a node the routes answer 503.
	e2 := newMsgEnv(t, false)
	if rec := e2.do(req{method: "GET", path: "/api/v1/interfaces", hdr: bearer(e2.read)}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no network: %d", rec.Code)
	}
}
