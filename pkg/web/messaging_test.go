package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// fakeMessaging records calls and answers with canned data.
type fakeMessaging struct {
	mu        sync.Mutex
	announced int
	sent      []app.SendRequest
	listPeer  string
	sendErr   error
	annErr    error

	msgQuery    app.MessageQuery
	peerQuery   app.PeerQuery
	convQuery   app.ConversationQuery
	deleted     []string
	read        []string
	attachments map[int]func() app.AttachmentContent
}

func (f *fakeMessaging) Identity(context.Context) app.IdentityInfo {
	return app.IdentityInfo{Address: strings.Repeat("ab", 16), DisplayName: "me"}
}

func (f *fakeMessaging) Announce(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announced++
	return f.annErr
}

func (f *fakeMessaging) ListPeers(_ context.Context, q app.PeerQuery) (app.PeerPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerQuery = q
	return app.PeerPage{Items: []app.PeerInfo{{Address: strings.Repeat("cd", 16), DisplayName: "bob", Hops: 2, LastSeen: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}}, nil
}

func (f *fakeMessaging) Send(_ context.Context, r app.SendRequest) (app.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return app.Message{}, f.sendErr
	}
	f.sent = append(f.sent, r)
	return app.Message{ID: strings.Repeat("ef", 32), Direction: "out", Peer: r.To, Content: r.Content, State: "queued", Method: "opportunistic"}, nil
}

func (f *fakeMessaging) ListMessages(_ context.Context, q app.MessageQuery) (app.MessagePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listPeer, f.msgQuery = q.Peer, q
	if q.Peer == "bad" {
		return app.MessagePage{}, app.ErrInvalidAddress
	}
	return app.MessagePage{Items: []app.Message{{ID: "1", State: "delivered"}, {ID: "2", State: "queued"}}, HasMoreBefore: true}, nil
}

func (f *fakeMessaging) GetMessage(_ context.Context, id string) (app.Message, error) {
	if id != strings.Repeat("ef", 32) {
		return app.Message{}, app.ErrNotFound
	}
	return app.Message{ID: id, State: "delivered", Content: "whole"}, nil
}

func (f *fakeMessaging) DeleteMessage(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != strings.Repeat("ef", 32) {
		return app.ErrNotFound
	}
	f.deleted = append(f.deleted, id)
	return nil
}

func (f *fakeMessaging) RetryMessage(_ context.Context, id string) (app.Message, error) {
	if id != strings.Repeat("ef", 32) {
		return app.Message{}, app.ErrState
	}
	return app.Message{ID: id, State: "queued"}, nil
}

func (f *fakeMessaging) CancelMessage(_ context.Context, id string) (app.Message, error) {
	return app.Message{ID: id, State: "failed", Error: "cancelled"}, nil
}

func (f *fakeMessaging) OpenAttachment(_ context.Context, id string, index int) (app.AttachmentContent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.attachments[index]
	if !ok || id != strings.Repeat("ef", 32) {
		return app.AttachmentContent{}, app.ErrNotFound
	}
	return a(), nil
}

func (f *fakeMessaging) ListConversations(_ context.Context, q app.ConversationQuery) (app.ConversationPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convQuery = q
	next := "7"
	return app.ConversationPage{Items: []app.Conversation{{Peer: strings.Repeat("cd", 16), Unread: 3}}, NextCursor: &next}, nil
}

func (f *fakeMessaging) MarkRead(_ context.Context, peer string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if peer == "bad" {
		return app.ErrInvalidAddress
	}
	f.read = append(f.read, peer)
	return nil
}

func (f *fakeMessaging) DeleteConversation(_ context.Context, peer string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, peer)
	return nil
}

type msgEnv struct {
	*authEnv
	fake       *fakeMessaging
	full, read string
}

func newMsgEnv(t *testing.T, withMessaging bool) *msgEnv {
	t.Helper()
	e := newAuthEnv(t, Options{}, nil)
	fake := &fakeMessaging{}
	deps := Deps{Store: e.st, UI: testUI(), Auth: e.auth}
	if withMessaging {
		deps.Messaging = fake
	}
	srv, err := New(Options{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.setup(t)
	ctx := context.Background()
	_, full, err := e.auth.CreateToken(ctx, "script", "full")
	if err != nil {
		t.Fatal(err)
	}
	_, read, err := e.auth.CreateToken(ctx, "reader", "read")
	if err != nil {
		t.Fatal(err)
	}
	return &msgEnv{authEnv: e, fake: fake, full: full, read: read}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestMessagingRoutes(t *testing.T) {
	e := newMsgEnv(t, true)
	bob := strings.Repeat("cd", 16)

	rec := e.do(req{method: "GET", path: "/api/v1/identity", hdr: bearer(e.read)})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"address":"abababababababababababababababab"`) || !strings.Contains(rec.Body.String(), `"display_name":"me"`) {
		t.Fatalf("identity: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/peers?q=bo&limit=9000", hdr: bearer(e.read)})
	var peers struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &peers) != nil || len(peers.Items) != 1 || peers.Items[0]["hops"] != float64(2) || peers.Items[0]["last_seen"] == nil {
		t.Fatalf("peers: %d %s", rec.Code, rec.Body)
	}
	if e.fake.peerQuery.Search != "bo" || e.fake.peerQuery.Limit != app.MaxLimit || !strings.Contains(rec.Body.String(), `"next_cursor":null`) {
		t.Fatalf("peer query %+v, body %s", e.fake.peerQuery, rec.Body)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/messages?peer=" + bob, hdr: bearer(e.read)})
	var msgs app.MessagePage
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &msgs) != nil || len(msgs.Items) != 2 || e.fake.listPeer != bob || !msgs.HasMoreBefore || e.fake.msgQuery.Limit != app.DefaultLimit {
		t.Fatalf("messages: %d %s (query %+v)", rec.Code, rec.Body, e.fake.msgQuery)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/messages?before=" + strings.Repeat("ab", 32) + "&limit=5", hdr: bearer(e.read)})
	if rec.Code != 200 || e.fake.msgQuery.Before != strings.Repeat("ab", 32) || e.fake.msgQuery.Limit != 5 || e.fake.msgQuery.Peer != "" {
		t.Fatalf("messages before: %d %s (query %+v)", rec.Code, rec.Body, e.fake.msgQuery)
	}
	for _, bad := range []string{"0", "-1", "x"} {
		if rec = e.do(req{method: "GET", path: "/api/v1/messages?limit=" + bad, hdr: bearer(e.read)}); rec.Code != 400 || errCode(rec) != "invalid_limit" {
			t.Fatalf("limit %s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	rec = e.do(req{method: "GET", path: "/api/v1/messages?peer=bad", hdr: bearer(e.read)})
	if rec.Code != 400 || errCode(rec) != "invalid_address" {
		t.Fatalf("bad peer: %d %s", rec.Code, rec.Body)
	}

	body := map[string]string{"to": bob, "content": "hi", "title": "t", "method": "opportunistic"}
	rec = e.do(req{method: "POST", path: "/api/v1/messages", body: body, hdr: bearer(e.full)})
	var m app.Message
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &m) != nil || m.State != "queued" || len(m.ID) != 64 {
		t.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	if len(e.fake.sent) != 1 || e.fake.sent[0].To != bob || e.fake.sent[0].Content != "hi" || e.fake.sent[0].Title != "t" || e.fake.sent[0].Method != "opportunistic" || e.fake.sent[0].Fields != nil {
		t.Fatalf("sent %+v", e.fake.sent)
	}
	rec = e.do(req{method: "POST", path: "/api/v1/announce", hdr: bearer(e.full)})
	if rec.Code != http.StatusAccepted || e.fake.announced != 1 {
		t.Fatalf("announce: %d %s", rec.Code, rec.Body)
	}
}

func TestMessagingAccess(t *testing.T) {
	e := newMsgEnv(t, true)
	body := map[string]string{"to": strings.Repeat("cd", 16), "content": "hi"}
	for _, r := range []req{
		{method: "POST", path: "/api/v1/messages", body: body},
		{method: "POST", path: "/api/v1/announce"},
	} {
		r.hdr = bearer(e.read)
		if rec := e.do(r); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s with a read token: %d, want 403", r.method, r.path, rec.Code)
		}
		r.hdr = nil
		if rec := e.do(r); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s anonymous: %d, want 401", r.method, r.path, rec.Code)
		}
	}
	if len(e.fake.sent) != 0 || e.fake.announced != 0 {
		t.Fatal("refused request reached the app")
	}
}

func TestMessagingBadInput(t *testing.T) {
	e := newMsgEnv(t, true)
	cases := []struct {
		name string
		r    req
		err  error
		code int
		want string
	}{
		{"unknown field", req{body: map[string]string{"to": "x", "contents": "typo"}}, nil, 400, "bad_request"},
		{"not json", req{hdr: map[string]string{"Content-Type": "text/plain"}}, nil, 415, "unsupported_media_type"},
		{"bad address", req{body: map[string]string{"to": "x", "content": "c"}}, app.ErrInvalidAddress, 400, "invalid_address"},
		{"bad method", req{body: map[string]string{"to": "x", "content": "c"}}, app.ErrInvalidMethod, 400, "invalid_method"},
		{"direct", req{body: map[string]string{"to": "x", "content": "c"}}, fmt.Errorf("direct: %w", app.ErrMethodUnavailable), 400, "method_unavailable"},
		{"empty", req{body: map[string]string{"to": "x"}}, app.ErrEmpty, 400, "empty_content"},
		{"too large", req{body: map[string]string{"to": "x", "content": "c"}}, app.ErrTooLarge, 400, "too_large"},
		{"body too large", req{body: map[string]string{"to": "x", "content": strings.Repeat("x", maxMessageBody)}}, nil, 413, "too_large"},
		{"internal", req{body: map[string]string{"to": "x", "content": "c"}}, errors.New("disk on fire"), 500, "internal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.mu.Lock()
			e.fake.sendErr = c.err
			e.fake.mu.Unlock()
			r := c.r
			r.method, r.path = "POST", "/api/v1/messages"
			if r.hdr == nil {
				r.hdr = bearer(e.full)
			} else {
				r.hdr["Authorization"] = "Bearer " + e.full
			}
			rec := e.do(r)
			if rec.Code != c.code || errCode(rec) != c.want {
				t.Fatalf("%d %s; want %d %s", rec.Code, rec.Body, c.code, c.want)
			}
			if strings.Contains(rec.Body.String(), "disk on fire") {
				t.Fatal("internal error text leaked")
			}
		})
	}
}

func TestMessagingUnavailableWithoutApp(t *testing.T) {
	e := newMsgEnv(t, false)
	for _, r := range []req{
		{method: "GET", path: "/api/v1/identity"},
		{method: "GET", path: "/api/v1/peers"},
		{method: "GET", path: "/api/v1/messages"},
		{method: "POST", path: "/api/v1/announce"},
	} {
		r.hdr = bearer(e.full)
		if rec := e.do(r); rec.Code != http.StatusServiceUnavailable || errCode(rec) != "unavailable" {
			t.Errorf("%s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
}
