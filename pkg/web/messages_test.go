package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/app"
)

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func memAttachment(name string, data []byte, inline string) func() app.AttachmentContent {
	return func() app.AttachmentContent {
		return app.AttachmentContent{Info: app.AttachmentInfo{Name: name}, InlineType: inline, Body: memFile{bytes.NewReader(data)}, Size: int64(len(data))}
	}
}

var _ io.ReadSeekCloser = memFile{}

func TestMessageRoutes(t *testing.T) {
	e := newMsgEnv(t, true)
	id := strings.Repeat("ef", 32)
	bob := strings.Repeat("cd", 16)
	cases := []struct {
		name       string
		r          req
		code       int
		errCode    string
		bodyHas    string
		readAccess bool
	}{
		{"get", req{method: "GET", path: "/api/v1/messages/" + id}, 200, "", `"content":"whole"`, true},
		{"get missing", req{method: "GET", path: "/api/v1/messages/" + strings.Repeat("00", 32)}, 404, "not_found", "", true},
		{"retry", req{method: "POST", path: "/api/v1/messages/" + id + "/retry"}, 200, "", `"state":"queued"`, false},
		{"retry wrong state", req{method: "POST", path: "/api/v1/messages/" + strings.Repeat("00", 32) + "/retry"}, 409, "wrong_state", "", false},
		{"cancel", req{method: "POST", path: "/api/v1/messages/" + id + "/cancel"}, 200, "", `"error":"cancelled"`, false},
		{"delete", req{method: "DELETE", path: "/api/v1/messages/" + id}, 204, "", "", false},
		{"delete missing", req{method: "DELETE", path: "/api/v1/messages/" + strings.Repeat("00", 32)}, 404, "not_found", "", false},
		{"conversations", req{method: "GET", path: "/api/v1/conversations?q=hi&cursor=9&limit=3"}, 200, "", `"next_cursor":"7"`, true},
		{"read", req{method: "POST", path: "/api/v1/conversations/" + bob + "/read"}, 204, "", "", false},
		{"read bad", req{method: "POST", path: "/api/v1/conversations/bad/read"}, 400, "invalid_address", "", false},
		{"delete conversation", req{method: "DELETE", path: "/api/v1/conversations/" + bob}, 204, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			r.hdr = bearer(e.full)
			rec := e.do(r)
			if rec.Code != c.code || (c.errCode != "" && errCode(rec) != c.errCode) || !strings.Contains(rec.Body.String(), c.bodyHas) {
				t.Fatalf("%d %s; want %d %s %q", rec.Code, rec.Body, c.code, c.errCode, c.bodyHas)
			}
			r.hdr = bearer(e.read)
			if rec := e.do(r); !c.readAccess && rec.Code != http.StatusForbidden {
				t.Fatalf("with a read token: %d", rec.Code)
			}
		})
	}
	if q := e.fake.convQuery; q.Search != "hi" || q.Cursor != "9" || q.Limit != 3 {
		t.Fatalf("conversation query %+v", q)
	}
	if len(e.fake.read) != 1 || e.fake.read[0] != bob || len(e.fake.deleted) != 2 {
		t.Fatalf("read %v deleted %v", e.fake.read, e.fake.deleted)
	}
}

func TestAttachmentDownload(t *testing.T) {
	e := newMsgEnv(t, true)
	id := strings.Repeat("ef", 32)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	e.fake.attachments = map[int]func() app.AttachmentContent{
		0: memAttachment("pic.png", png, "image/png"),
		1: memAttachment("evil.svg", svg, ""),
		2: memAttachment("naïve \"quote\".txt", []byte("hello"), ""),
	}
	cases := []struct {
		name, path, ctype, disp string
		body                    []byte
	}{
		{"png download", "/0", "application/octet-stream", `attachment; filename=pic.png`, png},
		{"png inline", "/0?inline=1", "image/png", `inline; filename=pic.png`, png},
		{"svg never inline", "/1?inline=1", "application/octet-stream", `attachment; filename=evil.svg`, svg},
		{"unicode name", "/2", "application/octet-stream", `attachment; filename*=utf-8''na%C3%AFve%20%22quote%22.txt`, []byte("hello")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do(req{method: "GET", path: "/api/v1/messages/" + id + "/attachments" + c.path, hdr: bearer(e.read)})
			h := rec.Header()
			if rec.Code != 200 || h.Get("Content-Type") != c.ctype || h.Get("Content-Disposition") != c.disp || h.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(rec.Body.Bytes(), c.body) {
				t.Fatalf("%d type %q disposition %q nosniff %q body %q", rec.Code, h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("X-Content-Type-Options"), rec.Body.Bytes())
			}
		})
	}
	for _, p := range []string{"/9", "/-1", "/x"} {
		if rec := e.do(req{method: "GET", path: "/api/v1/messages/" + id + "/attachments" + p, hdr: bearer(e.read)}); rec.Code != 404 {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
}
