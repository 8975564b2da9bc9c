package web

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/logring"
)

func TestDebugLogs(t *testing.T) {
	e := newAuthEnv(t, Options{}, nil)
	s := e.setup(t)
	get := func(path string) (int, string) {
		rec := e.do(req{method: "GET", path: path, cookies: s.cookies})
		return rec.Code, rec.Body.String()
	}
	if code, _ := get("/api/v1/debug/logs"); code != 503 {
		t.Fatalf("without a ring: %d, want 503", code)
	}
	if rec := e.do(req{method: "GET", path: "/api/v1/debug/logs"}); rec.Code != 401 {
		t.Fatalf("without credentials: %d, want 401", rec.Code)
	}
	ring := logring.New(10)
	e.srv.deps.Logs = ring
	var out strings.Builder // the process log the ring passes records on to (slog.DiscardHandler would keep nothing)
	log := slog.New(logring.NewHandler(ring, slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.Debug("noise")
	log.Warn("interface down", "interface", "tcp-client/127.0.0.1:1", "passphrase", "s3cret")
	code, body := get("/api/v1/debug/logs?level=warn")
	if code != 200 {
		t.Fatalf("logs: %d %s", code, body)
	}
	var page struct{ Items []logring.Record }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Msg != "interface down" || page.Items[0].Attrs["passphrase"] != logring.Redacted {
		t.Fatalf("page %+v", page.Items)
	}
	if strings.Contains(body, "s3cret") {
		t.Fatal("secret in the response")
	}
	if _, body := get("/api/v1/debug/logs?limit=1"); !strings.Contains(body, "interface down") || strings.Contains(body, "noise") {
		t.Fatalf("limit 1: %s", body)
	}
	for _, bad := range []string{"?level=loud", "?limit=0", "?limit=1001", "?limit=x"} {
		if code, body := get("/api/v1/debug/logs" + bad); code != 400 {
			t.Fatalf("%s: %d %s, want 400", bad, code, body)
		}
	}
}
