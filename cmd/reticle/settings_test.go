package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSettingsThroughAPI: PATCH /api/v1/settings needs CSRF, answers a bad field with 400
// invalid_setting naming it and changes nothing, applies a good patch at once (the identity shows the
// new name) and keeps it across a restart.
func TestSettingsThroughAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	n := startNode(t, dir)
	if r := n.do(t, "PATCH", "/api/v1/settings", strings.NewReader(`{"display_name":"x"}`), "application/json", false); r.StatusCode != 403 {
		t.Fatalf("PATCH without CSRF: %d", r.StatusCode)
	}
	r := n.do(t, "PATCH", "/api/v1/settings", strings.NewReader(`{"display_name":"Field node","stamp_cost":99}`), "application/json", true)
	if r.StatusCode != 400 || !strings.Contains(string(r.body), "invalid_setting") || !strings.Contains(string(r.body), "stamp_cost") {
		t.Fatalf("bad stamp cost: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "PATCH", "/api/v1/settings", strings.NewReader(`{"colour":"red"}`), "application/json", true); r.StatusCode != 400 {
		t.Fatalf("unknown field: %d %s", r.StatusCode, r.body)
	}
	r = n.do(t, "PATCH", "/api/v1/settings", strings.NewReader(`{"display_name":"Field node","announce_interval_minutes":120}`), "application/json", true)
	var v struct {
		DisplayName string `json:"display_name"`
		Interval    int    `json:"announce_interval_minutes"`
		StampCost   int    `json:"stamp_cost"`
	}
	if r.StatusCode != 200 || json.Unmarshal(r.body, &v) != nil || v.DisplayName != "Field node" || v.Interval != 120 || v.StampCost != 0 {
		t.Fatalf("good patch: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "GET", "/api/v1/identity", nil, "", false); !strings.Contains(string(r.body), `"display_name":"Field node"`) {
		t.Fatalf("identity after the change: %s", r.body)
	}
	if err := n.a.stop(); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, dir)
	defer func() { _ = n.a.stop() }()
	if r := n.do(t, "GET", "/api/v1/settings", nil, "", false); !strings.Contains(string(r.body), `"display_name":"Field node"`) ||
		!strings.Contains(string(r.body), `"announce_interval_minutes":120`) {
		t.Fatalf("settings after a restart: %s", r.body)
	}
}

// TestIdentityExport: the key file comes only with CSRF and the password typed again; it is the
// identity file byte for byte (the reference's 64-byte format); a wrong password exports nothing and
// keeps the session.
func TestIdentityExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	n := startNode(t, dir)
	defer func() { _ = n.a.stop() }()
	body := func(pw string) *strings.Reader { return strings.NewReader(`{"password":"` + pw + `"}`) }
	if r := n.do(t, "POST", "/api/v1/identity/export", body(testOwnerPassword), "application/json", false); r.StatusCode != 403 {
		t.Fatalf("without CSRF: %d", r.StatusCode)
	}
	r := n.do(t, "POST", "/api/v1/identity/export", body("not the password"), "application/json", true)
	if r.StatusCode != 403 || !strings.Contains(string(r.body), "wrong_password") {
		t.Fatalf("wrong password: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "GET", "/api/v1/identity", nil, "", false); r.StatusCode != 200 {
		t.Fatalf("the session did not survive a wrong confirmation: %d", r.StatusCode)
	}
	r = n.do(t, "POST", "/api/v1/identity/export", body(testOwnerPassword), "application/json", true)
	want, err := os.ReadFile(filepath.Join(dir, "identities", "lxmf"))
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 || len(r.body) != 64 || !bytes.Equal(r.body, want) ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d, %d bytes, equal to the identity file %v, headers %v", r.StatusCode, len(r.body), bytes.Equal(r.body, want), r.Header)
	}
}
