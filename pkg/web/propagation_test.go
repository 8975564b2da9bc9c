package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/app"
)

// fakePropagation is fakeMessaging that also implements Propagation.
type fakePropagation struct {
	*fakeMessaging
	pmu       sync.Mutex
	node      string
	syncs     int
	cancelled int
	running   bool
}

func (f *fakePropagation) Propagation(context.Context) (app.PropagationInfo, error) {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	info := app.PropagationInfo{Node: f.node, KnownNodes: []app.PropagationNodeInfo{{Address: strings.Repeat("aa", 16), Name: "pn", Enabled: true, StampCost: 16}}}
	info.Sync.State = "idle"
	if f.running {
		info.Sync.State = "linking"
	}
	return info, nil
}

func (f *fakePropagation) SetPropagationNode(_ context.Context, addr string) error {
	if addr != "" {
		if _, err := app.ParseAddress(addr); err != nil {
			return err
		}
	}
	f.pmu.Lock()
	f.node = addr
	f.pmu.Unlock()
	return nil
}

func (f *fakePropagation) StartSync(context.Context) error {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	switch {
	case f.node == "":
		return app.ErrNoPropagationNode
	case f.running:
		return app.ErrSyncRunning
	}
	f.running = true
	f.syncs++
	return nil
}

func (f *fakePropagation) CancelSync() {
	f.pmu.Lock()
	f.cancelled++
	f.running = false
	f.pmu.Unlock()
}

func newPropEnv(t *testing.T) (*msgEnv, *fakePropagation) {
	t.Helper()
	e := newAuthEnv(t, Options{}, nil)
	fake := &fakePropagation{fakeMessaging: &fakeMessaging{}}
	srv, err := New(Options{}, Deps{Store: e.st, UI: testUI(), Auth: e.auth, Messaging: fake})
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
	return &msgEnv{authEnv: e, fake: fake.fakeMessaging, full: full, read: read}, fake
}

func TestPropagationRoutes(t *testing.T) {
	e, fake := newPropEnv(t)
	pn := strings.Repeat("aa", 16)

	rec := e.do(req{method: "POST", path: "/api/v1/propagation/sync", hdr: bearer(e.full)})
	if rec.Code != http.StatusConflict || errCode(rec) != "no_propagation_node" {
		t.Fatalf("sync without node: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "PUT", path: "/api/v1/propagation/node", body: map[string]string{"address": "xyz"}, hdr: bearer(e.full)})
	if rec.Code != http.StatusBadRequest || errCode(rec) != "invalid_address" {
		t.Fatalf("bad address: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "PUT", path: "/api/v1/propagation/node", body: map[string]string{"address": pn}, hdr: bearer(e.read)})
	if rec.Code != http.StatusForbidden || fake.node != "" {
		t.Fatalf("read token chose a node: %d", rec.Code)
	}
	rec = e.do(req{method: "PUT", path: "/api/v1/propagation/node", body: map[string]string{"address": pn}, hdr: bearer(e.full)})
	var info app.PropagationInfo
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &info) != nil || info.Node != pn {
		t.Fatalf("choose: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "POST", path: "/api/v1/propagation/sync", hdr: bearer(e.full)})
	if rec.Code != http.StatusAccepted || fake.syncs != 1 || !strings.Contains(rec.Body.String(), `"state":"linking"`) {
		t.Fatalf("sync: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "POST", path: "/api/v1/propagation/sync", hdr: bearer(e.full)})
	if rec.Code != http.StatusConflict || errCode(rec) != "sync_running" {
		t.Fatalf("second sync: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(req{method: "GET", path: "/api/v1/propagation", hdr: bearer(e.read)})
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &info) != nil || len(info.KnownNodes) != 1 || info.Sync.State != "linking" {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	if rec = e.do(req{method: "DELETE", path: "/api/v1/propagation/sync", hdr: bearer(e.read)}); rec.Code != http.StatusForbidden {
		t.Fatalf("cancel with read token: %d", rec.Code)
	}
	if rec = e.do(req{method: "DELETE", path: "/api/v1/propagation/sync", hdr: bearer(e.full)}); rec.Code != http.StatusNoContent || fake.cancelled != 1 {
		t.Fatalf("cancel: %d", rec.Code)
	}
	if rec = e.do(req{method: "GET", path: "/api/v1/propagation"}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
}

func TestPropagationUnavailable(t *testing.T) {
	e := newMsgEnv(t, true) // messaging without propagation
	if rec := e.do(req{method: "GET", path: "/api/v1/propagation", hdr: bearer(e.read)}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("without propagation: %d %s", rec.Code, rec.Body)
	}
}
