package web

import (
	"context"
	"io"
	"strings"
	"testing"
)

// Export makes the fake an Exporter: it writes the peer it was asked for.
func (f *fakeMessaging) Export(_ context.Context, peer string, w io.Writer) error {
	_, err := io.WriteString(w, "export of "+peer)
	return err
}

func TestExportRoute(t *testing.T) {
	e := newMsgEnv(t, true)
	bob := strings.Repeat("cd", 16)
	rec := e.do(req{method: "GET", path: "/api/v1/export?peer=" + strings.ToUpper(bob), hdr: bearer(e.read)})
	h := rec.Header()
	if rec.Code != 200 || rec.Body.String() != "export of "+bob || h.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="reticle-export-cdcdcdcd-`) || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("export: %d %q %v", rec.Code, rec.Body, h)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/export", hdr: bearer(e.read)}); rec.Code != 200 || rec.Body.String() != "export of " {
		t.Fatalf("export all: %d %q", rec.Code, rec.Body)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/export?peer=nope"}); rec.Code != 401 {
		t.Fatalf("without credentials: %d", rec.Code)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/export?peer=nope", hdr: bearer(e.read)}); rec.Code != 400 {
		t.Fatalf("bad peer: %d %s", rec.Code, rec.Body)
	}
}
