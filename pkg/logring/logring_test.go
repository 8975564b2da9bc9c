package logring

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func newLogger(size int, level slog.Level) (*slog.Logger, *Ring, *bytes.Buffer) {
	var out bytes.Buffer
	r := New(size)
	return slog.New(NewHandler(r, slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))), r, &out
}

func TestRingKeepsNewestFirstAndFilters(t *testing.T) {
	log, r, out := newLogger(3, slog.LevelDebug)
	log.Debug("one")
	log.Info("two")
	log.Warn("three")
	log.Error("four")
	got := r.Recent(slog.LevelDebug, 0)
	if len(got) != 3 || got[0].Msg != "four" || got[2].Msg != "two" {
		t.Fatalf("recent %+v", got)
	}
	if got[0].Seq != 4 || got[2].Seq != 2 {
		t.Fatalf("sequence numbers %d %d", got[0].Seq, got[2].Seq)
	}
	if w := r.Recent(slog.LevelWarn, 0); len(w) != 2 || w[1].Msg != "three" {
		t.Fatalf("warn and above %+v", w)
	}
	if l := r.Recent(slog.LevelDebug, 1); len(l) != 1 || l[0].Msg != "four" {
		t.Fatalf("limit 1 %+v", l)
	}
	if !strings.Contains(out.String(), "msg=one") {
		t.Fatalf("records not passed on: %q", out.String())
	}
}

func TestRingFollowsTheProcessLevel(t *testing.T) {
	log, r, _ := newLogger(10, slog.LevelInfo)
	log.Debug("hidden")
	log.Info("shown")
	if got := r.Recent(slog.LevelDebug, 0); len(got) != 1 || got[0].Msg != "shown" {
		t.Fatalf("recent %+v", got)
	}
}

func TestRingRedactsSecrets(t *testing.T) {
	log, r, _ := newLogger(10, slog.LevelDebug)
	log.With("component", "web", "api_token", "tok-123").WithGroup("req").Info("login",
		"password", "hunter2", "user", "owner", "uri", "tcp-client://h:1?passphrase=s3cret&network_name=mesh",
		slog.Group("ifac", "passphrase", "x"), "rpc_key", "abcd", "count", 3)
	rec := r.Recent(slog.LevelDebug, 0)[0]
	want := map[string]string{
		"component": "web", "api_token": Redacted, "req.password": Redacted, "req.user": "owner",
		"req.uri":             "tcp-client://h:1?passphrase=" + Redacted + "&network_name=" + Redacted,
		"req.ifac.passphrase": Redacted, "req.rpc_key": Redacted, "req.count": "3",
	}
	for k, v := range want {
		if rec.Attrs[k] != v {
			t.Errorf("attr %s = %q, want %q (all %v)", k, rec.Attrs[k], v, rec.Attrs)
		}
	}
	for _, v := range rec.Attrs {
		if strings.Contains(v, "hunter2") || strings.Contains(v, "s3cret") || strings.Contains(v, "tok-123") {
			t.Fatalf("secret kept: %v", rec.Attrs)
		}
	}
}

func TestRingClipsLongValues(t *testing.T) {
	log, r, _ := newLogger(10, slog.LevelDebug)
	log.Info(strings.Repeat("m", 5000), "v", strings.Repeat("x", 5000))
	rec := r.Recent(slog.LevelDebug, 0)[0]
	if len(rec.Msg) > maxValueLen+4 || len(rec.Attrs["v"]) > maxValueLen+4 {
		t.Fatalf("kept %d and %d bytes", len(rec.Msg), len(rec.Attrs["v"]))
	}
}
