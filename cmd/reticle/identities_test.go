package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
)

// TestIdentitiesSwitch runs `reticle serve` in-process: the owner keeps a second identity (made new)
// and a third (imported from a key file), switches to the second (the node restarts on its own data,
// the browser session goes on working), finds none of the first identity's contacts there, and
// switches back to find them again. Bad keys, a duplicate, a wrong password and an unknown address
// are refused and change nothing.
func TestIdentitiesSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a node")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(diskFullPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, []string{"--listen", addr, "--data-dir", home, "--interface", "tcp-server://127.0.0.1:0"},
			testStdio(&bytes.Buffer{}, &stderr, map[string]string{"RETICLE_INITIAL_PASSWORD_FILE": pw}))
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, stderr.String())
		}
	})
	c := newWebClient(t, "http://"+addr)
	up := func() { // waits (bounded) until the web server answers, also while the node restarts
		t.Helper()
		for range 600 {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the node did not answer:\n%s", stderr.String())
	}
	address := func() string {
		t.Helper()
		up()
		st, body := c.do(http.MethodGet, "/api/v1/identity", nil)
		if st != http.StatusOK {
			t.Fatalf("identity: %d %v", st, body)
		}
		s, _ := body["address"].(string)
		return s
	}
	up()
	if st := c.login(); st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	homeAddr := address()
	friend := "00112233445566778899aabbccddeeff"
	if st, body := c.do(http.MethodPut, "/api/v1/contacts/"+friend, map[string]any{"name": "Friend of home"}); st/100 != 2 {
		t.Fatalf("add contact: %d %v", st, body)
	}

	st, body := c.do(http.MethodPost, "/api/v1/identities", map[string]any{"password": diskFullPassword, "name": "Work"})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, body)
	}
	work, _ := body["address"].(string)
	imported, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := imported.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(raw)
	if st, body = c.do(http.MethodPost, "/api/v1/identities", map[string]any{"password": diskFullPassword, "name": "Old phone", "key": key}); st != http.StatusCreated {
		t.Fatalf("import: %d %v", st, body)
	}
	for _, bad := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"password": diskFullPassword, "key": key}, http.StatusConflict},
		{map[string]any{"password": diskFullPassword, "key": base64.StdEncoding.EncodeToString([]byte("short"))}, http.StatusBadRequest},
		{map[string]any{"password": diskFullPassword, "key": "not base64!"}, http.StatusBadRequest},
		{map[string]any{"password": "wrong password for sure"}, http.StatusForbidden},
		{map[string]any{"password": diskFullPassword, "name": "two\nlines"}, http.StatusBadRequest},
	} {
		if st, body := c.do(http.MethodPost, "/api/v1/identities", bad.body); st != bad.want {
			t.Errorf("add %v: %d %v, want %d", bad.body, st, body, bad.want)
		}
	}
	if st, body := c.do(http.MethodPost, "/api/v1/identities/"+friend+"/activate", map[string]any{"password": diskFullPassword}); st != http.StatusNotFound {
		t.Errorf("activate unknown: %d %v", st, body)
	}
	if st, body := c.do(http.MethodPost, "/api/v1/identities/"+work+"/activate", map[string]any{"password": "wrong password for sure"}); st != http.StatusForbidden {
		t.Errorf("activate with a wrong password: %d %v", st, body)
	}
	list := func() []any {
		t.Helper()
		st, body := c.do(http.MethodGet, "/api/v1/identities", nil)
		items, _ := body["items"].([]any)
		if st != http.StatusOK || len(items) != 3 {
			t.Fatalf("list: %d %v", st, body)
		}
		return items
	}
	if first := list()[0].(map[string]any); first["address"] != homeAddr || first["active"] != true || first["home"] != true {
		t.Fatalf("home entry %v", first)
	}

	switchTo := func(a string) {
		t.Helper()
		if st, body := c.do(http.MethodPost, "/api/v1/identities/"+a+"/activate", map[string]any{"password": diskFullPassword}); st != http.StatusAccepted {
			t.Fatalf("activate %s: %d %v", a, st, body)
		}
		for range 200 {
			// Straight through the client's cookie jar, tolerating the moments the node is down.
			if resp, err := c.hc.Get("http://" + addr + "/api/v1/identity"); err == nil {
				var id struct {
					Address string `json:"address"`
				}
				err = json.NewDecoder(resp.Body).Decode(&id)
				_ = resp.Body.Close()
				if err == nil && resp.StatusCode == http.StatusOK && id.Address == a {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("still not %s after the switch:\n%s", a, stderr.String())
	}
	contacts := func() int {
		t.Helper()
		st, body := c.do(http.MethodGet, "/api/v1/contacts", nil)
		items, _ := body["items"].([]any)
		if st != http.StatusOK {
			t.Fatalf("contacts: %d %v", st, body)
		}
		return len(items)
	}
	switchTo(work)
	if n := contacts(); n != 0 {
		t.Fatalf("the new identity sees %d contacts of the home identity", n)
	}
	if st, _ := c.do(http.MethodPost, "/api/v1/identities/"+work+"/activate", map[string]any{"password": diskFullPassword}); st != http.StatusConflict {
		t.Errorf("activating the active identity: %d", st)
	}
	for _, e := range list() {
		m := e.(map[string]any)
		if (m["address"] == work) != (m["active"] == true) {
			t.Errorf("after the switch: %v", m)
		}
	}
	switchTo(homeAddr)
	if n := contacts(); n != 1 {
		t.Fatalf("back home: %d contacts, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(home, "profiles", work, "reticle.db")); err != nil {
		t.Fatalf("the work identity's data is not in its own dir: %v", err)
	}
}
