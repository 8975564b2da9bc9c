package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidJSONText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want bool
	}{
		{"ascii", `{"a":"b"}`, true},
		{"utf8", `{"a":"grüße ✓ 🛰"}`, true},
		{"escaped pair", `{"a":"\ud83d\udef0"}`, true},
		{"escaped bmp", `{"a":"\u00fc\u2713"}`, true},
		{"escaped backslash then u", `{"a":"\\ud800"}`, true},
		{"bad byte", "{\"a\":\"\xff\"}", false},
		{"truncated sequence", "{\"a\":\"\xe2\x9c\"}", false},
		{"overlong", "{\"a\":\"\xc0\xaf\"}", false},
		{"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", false},
		{"lone high escape", `{"a":"\ud800"}`, false},
		{"lone high escape at end", `{"a":"x\ud800`, false},
		{"lone low escape", `{"a":"\udc00"}`, false},
		{"high then non-low", `{"a":"\ud800\u0041"}`, false},
		{"high then text", `{"a":"\ud800abcdef"}`, false},
		{"malformed escape left to decoder", `{"a":"\u12"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := validJSONText([]byte(c.in)); got != c.want {
				t.Fatalf("validJSONText(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

// FuzzValidJSONText checks validJSONText never panics and agrees with the decoder: text it accepts
// that decodes as a JSON string decodes without a replacement character unless one was written.
func FuzzValidJSONText(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud83d\udef0"`, `"\ud800"`, "\"\xff\"", `"\\u"`, `"\u00`, `"\ufffd"`, "\"\xef\xbf\xbd\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validJSONText(b) {
			return
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return
		}
		if strings.ContainsRune(s, '\uFFFD') && !strings.Contains(string(b), "\uFFFD") && !strings.Contains(strings.ToLower(string(b)), `\ufffd`) {
			t.Fatalf("accepted %q, decoded with a replacement character: %q", b, s)
		}
	})
}

// TestJSONRoutesRefuseInvalidUTF8 sends a body with an invalid UTF-8 string, and one with a lone
// surrogate escape, to every route that reads JSON: each answers 400 not_utf8 and nothing reaches the
// app or the auth service.
func TestJSONRoutesRefuseInvalidUTF8(t *testing.T) {
	e := newMsgEnv(t, true)
	prop := &fakePropagation{fakeMessaging: e.fake}
	srv, err := New(Options{}, Deps{Store: e.st, UI: testUI(), Auth: e.auth, Messaging: prop})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	sess := e.login(t, "")
	bob := strings.Repeat("cd", 16)
	type route struct {
		method, path, body string
		bearer, session    bool
	}
	routes := []route{
		{method: "POST", path: "/api/v1/auth/setup", body: `{"setup_code":"x","password":"%s"}`},
		{method: "POST", path: "/api/v1/auth/login", body: `{"password":"%s"}`},
		{method: "POST", path: "/api/v1/auth/password", body: `{"current_password":"x","new_password":"%s"}`, session: true},
		{method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"%s","scope":"read"}`, session: true},
		{method: "POST", path: "/api/v1/messages", body: `{"to":"` + bob + `","content":"%s"}`, bearer: true},
		{method: "PUT", path: "/api/v1/propagation/node", body: `{"address":"%s"}`, bearer: true},
	}
	bad := map[string]string{"invalid byte": "a\xffb", "lone surrogate escape": `a\udc00b`}
	for _, r := range routes {
		for name, val := range bad {
			t.Run(r.method+" "+r.path+" "+name, func(t *testing.T) {
				hr := httptest.NewRequest(r.method, r.path, strings.NewReader(strings.Replace(r.body, "%s", val, 1)))
				hr.Header.Set("Content-Type", "application/json")
				if r.bearer {
					hr.Header.Set("Authorization", "Bearer "+e.full)
				}
				if r.session {
					for _, c := range sess.cookies {
						hr.AddCookie(c)
					}
					hr.Header.Set(headerCSRF, sess.csrf)
				}
				rec := httptest.NewRecorder()
				e.srv.Handler().ServeHTTP(rec, hr)
				if rec.Code != http.StatusBadRequest || errCode(rec) != "not_utf8" {
					t.Fatalf("%d %s; want 400 not_utf8", rec.Code, rec.Body)
				}
			})
		}
	}
	if len(e.fake.sent) != 0 || prop.node != "" {
		t.Fatal("a refused body reached the app")
	}
	toks, err := e.auth.ListTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 { // the two newMsgEnv made
		t.Fatalf("%d tokens; a refused body created one", len(toks))
	}
}
