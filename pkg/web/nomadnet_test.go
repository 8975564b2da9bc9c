package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// fakePages answers by node: each error node gives one of the use case's errors.
type fakePages struct{ last app.PageRequest }

var pageNodeErrors = map[string]error{
	strings.Repeat("1", 32): app.ErrPageNotFound,
	strings.Repeat("2", 32): app.ErrPageNoPath,
	strings.Repeat("3", 32): app.ErrPageLinkFailed,
	strings.Repeat("4", 32): app.ErrPageTimeout,
	strings.Repeat("5", 32): app.ErrPageNotAllowed,
	"bad":                   app.ErrPageBadRequest,
}

func (f *fakePages) FetchPage(_ context.Context, r app.PageRequest) (app.PageView, error) {
	f.last = r
	if err, ok := pageNodeErrors[r.Node]; ok {
		return app.PageView{}, fmt.Errorf("fetch: %w", err)
	}
	if len(r.Fields) > 0 && !strings.HasPrefix(firstKey(r.Fields), "field_") && !strings.HasPrefix(firstKey(r.Fields), "var_") {
		return app.PageView{}, app.ErrPageBadField
	}
	return app.PageView{Node: r.Node, Path: r.Path, Content: ">Hi", Size: 3, FetchedAt: time.Unix(0, 0).UTC()}, nil
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

func (f *fakePages) FetchFile(_ context.Context, node, path string) (app.FileView, error) {
	if err, ok := pageNodeErrors[node]; ok {
		return app.FileView{}, err
	}
	return app.FileView{Node: node, Path: path, Name: `r"e.html`, Data: []byte("<script>x</script>")}, nil
}

func (f *fakePages) ListNodes(_ context.Context, q app.NodeQuery) (app.NomadNodePage, error) {
	if q.Cursor == "bad" {
		return app.NomadNodePage{}, app.ErrInvalidCursor
	}
	next := "c1"
	return app.NomadNodePage{Items: []app.NomadNode{{Address: strings.Repeat("a", 32), Name: q.Search, Hops: 2}}, NextCursor: &next}, nil
}

func (f *fakePages) Own(context.Context) app.OwnNode {
	return app.OwnNode{Address: strings.Repeat("b", 32), Name: "me", Paths: []string{"/page/index.mu"}}
}

func TestNomadNetRoutes(t *testing.T) {
	e := newMsgEnv(t, false)
	fake := &fakePages{}
	srv, err := New(Options{}, Deps{Store: e.st, UI: testUI(), Auth: e.auth, Pages: fake})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	node := strings.Repeat("a", 32)
	page := func(n string, fields map[string]string) map[string]any {
		return map[string]any{"node": n, "path": "/page/index.mu", "fields": fields, "refresh": true}
	}
	for _, c := range []struct {
		r    req
		code int
		want string
	}{
		{req{method: "GET", path: "/api/v1/nomadnet/nodes?q=hub&limit=5", hdr: bearer(e.read)}, 200, `"items":[{"address":"` + node + `","name":"hub","hops":2,"last_heard":"0001-01-01T00:00:00Z"}],"next_cursor":"c1"`},
		{req{method: "GET", path: "/api/v1/nomadnet/nodes?cursor=bad", hdr: bearer(e.read)}, 400, `"invalid_cursor"`},
		{req{method: "GET", path: "/api/v1/nomadnet/node", hdr: bearer(e.read)}, 200, `{"address":"` + strings.Repeat("b", 32) + `","name":"me","paths":["/page/index.mu"]}`},
		{req{method: "GET", path: "/api/v1/nomadnet/nodes", hdr: nil}, 401, ""},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(node, nil), hdr: bearer(e.read)}, 403, `"insufficient_scope"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(node, map[string]string{"field_name": "Ada"}), hdr: bearer(e.full)}, 200,
			`{"node":"` + node + `","path":"/page/index.mu","content":"\u003eHi","size":3,"cached":false,"fetched_at":"1970-01-01T00:00:00Z",` +
				`"doc":{"header":{},"lines":[{"kind":"heading","level":1,"depth":1,"align":"left","anchors":["hi"],"spans":[{"text":"Hi"}]}]}}`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(node, map[string]string{"name": "x"}), hdr: bearer(e.full)}, 400, `"bad_field"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page("bad", nil), hdr: bearer(e.full)}, 400, `"bad_path"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: map[string]any{"node": node, "x": 1}, hdr: bearer(e.full)}, 400, ""},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(strings.Repeat("1", 32), nil), hdr: bearer(e.full)}, 404, `"not_found"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(strings.Repeat("2", 32), nil), hdr: bearer(e.full)}, 502, `"no_path"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(strings.Repeat("3", 32), nil), hdr: bearer(e.full)}, 502, `"link_failed"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(strings.Repeat("4", 32), nil), hdr: bearer(e.full)}, 504, `"timeout"`},
		{req{method: "POST", path: "/api/v1/nomadnet/page", body: page(strings.Repeat("5", 32), nil), hdr: bearer(e.full)}, 403, `"not_allowed"`},
		{req{method: "GET", path: "/api/v1/nomadnet/file?node=" + strings.Repeat("1", 32) + "&path=/file/x", hdr: bearer(e.read)}, 404, `"not_found"`},
	} {
		rec := e.do(c.r)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d %q", c.r.method, c.r.path, rec.Code, rec.Body, c.code, c.want)
		}
	}
	if fake.last.Node != strings.Repeat("5", 32) || fake.last.Path != "/page/index.mu" || !fake.last.Refresh {
		t.Errorf("fields not passed: %+v", fake.last)
	}
	rec := e.do(req{method: "GET", path: "/api/v1/nomadnet/file?node=" + node + "&path=/file/r.html", hdr: bearer(e.read)})
	h := rec.Header()
	if rec.Code != 200 || rec.Body.String() != "<script>x</script>" || h.Get("Content-Type") != "application/octet-stream" ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(h.Get("Content-Disposition"), `filename="r\"e.html"`) {
		t.Fatalf("file download: %d %q %v", rec.Code, rec.Body, h)
	}
	e2 := newMsgEnv(t, false)
	if rec := e2.do(req{method: "GET", path: "/api/v1/nomadnet/nodes", hdr: bearer(e2.read)}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("no pages: %d", rec.Code)
	}
}
