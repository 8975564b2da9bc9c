package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestContactsThroughAPI: a contact is added with CSRF only, shows up paged, exports as a download that
// imports back unchanged, a bad import names the entry and changes nothing, and an oversized import is
// 413; the stranger settings are in /settings.
func TestContactsThroughAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	n := startNode(t, dir)
	defer func() { _ = n.a.stop() }()
	addr := strings.Repeat("ab", 16)
	path := "/api/v1/contacts/" + addr
	if r := n.do(t, "PUT", path, strings.NewReader(`{"name":"Ann"}`), "application/json", false); r.StatusCode != 403 {
		t.Fatalf("PUT without CSRF: %d", r.StatusCode)
	}
	if r := n.do(t, "PUT", path, strings.NewReader(`{"name":"Ann","favourite":true}`), "application/json", true); r.StatusCode != 201 {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "PUT", path, strings.NewReader(`{"notes":"from the market"}`), "application/json", true); r.StatusCode != 200 ||
		!strings.Contains(string(r.body), `"name":"Ann"`) || !strings.Contains(string(r.body), `"notes":"from the market"`) {
		t.Fatalf("update: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "PUT", path, strings.NewReader(`{"name":"a\u202eb"}`), "application/json", true); r.StatusCode != 400 || !strings.Contains(string(r.body), "invalid_contact") {
		t.Fatalf("bidi name: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "PUT", "/api/v1/contacts/xyz", strings.NewReader(`{}`), "application/json", true); r.StatusCode != 400 {
		t.Fatalf("bad address: %d %s", r.StatusCode, r.body)
	}
	r := n.do(t, "GET", "/api/v1/contacts?limit=10", nil, "", false)
	var page struct {
		Items []struct {
			Address, Name string
			Favourite     bool
		} `json:"items"`
		Next *string `json:"next_cursor"`
	}
	if r.StatusCode != 200 || json.Unmarshal(r.body, &page) != nil || len(page.Items) != 1 || page.Items[0].Address != addr || !page.Items[0].Favourite || page.Next != nil {
		t.Fatalf("list: %d %s", r.StatusCode, r.body)
	}
	exp := n.do(t, "GET", "/api/v1/contacts/export", nil, "", false)
	if exp.StatusCode != 200 || !strings.HasPrefix(exp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(exp.body), `"format": "reticle-contacts"`) {
		t.Fatalf("export: %d %v %s", exp.StatusCode, exp.Header, exp.body)
	}
	if r := n.do(t, "POST", "/api/v1/contacts/import", strings.NewReader(string(exp.body)), "application/json", true); r.StatusCode != 200 || !strings.Contains(string(r.body), `"unchanged":1`) {
		t.Fatalf("import back: %d %s", r.StatusCode, r.body)
	}
	bad := `{"format":"reticle-contacts","version":1,"contacts":[{"address":"` + strings.Repeat("cd", 16) + `","name":"ok"},{"address":"short","name":"x"}]}`
	if r := n.do(t, "POST", "/api/v1/contacts/import", strings.NewReader(bad), "application/json", true); r.StatusCode != 400 || !strings.Contains(string(r.body), "contacts[1].address") {
		t.Fatalf("bad import: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "GET", "/api/v1/contacts/"+strings.Repeat("cd", 16), nil, "", false); r.StatusCode != 404 {
		t.Fatalf("a refused import added a contact: %d %s", r.StatusCode, r.body)
	}
	huge := `{"format":"reticle-contacts","version":1,"contacts":[],"pad":"` + strings.Repeat("x", 5<<20) + `"}`
	if r := n.do(t, "POST", "/api/v1/contacts/import", strings.NewReader(huge), "application/json", true); r.StatusCode != 413 {
		t.Fatalf("oversized import: %d", r.StatusCode)
	}
	if r := n.do(t, "DELETE", path, nil, "", true); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	if r := n.do(t, "DELETE", path, nil, "", true); r.StatusCode != 404 {
		t.Fatalf("second delete: %d %s", r.StatusCode, r.body)
	}
	r = n.do(t, "PATCH", "/api/v1/settings", strings.NewReader(`{"stranger_attachments":"allow","refuse_strangers":true}`), "application/json", true)
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"stranger_attachments":"allow"`) || !strings.Contains(string(r.body), `"refuse_strangers":true`) {
		t.Fatalf("stranger settings: %d %s", r.StatusCode, r.body)
	}
}
