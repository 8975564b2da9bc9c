package main

import (
	"encoding/json"
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
