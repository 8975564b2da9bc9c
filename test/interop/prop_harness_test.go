package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	lxapp "github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/lxmf/propnode"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// startPropNode starts a Reticle messaging node with propagation options,
// optionally as a transport node, in the order cmd/reticle wires them.
func startPropNode(t *testing.T, name string, transportNode bool, po lxapp.PropagationOptions, uris ...string) *lxmfNode {
	t.Helper()
	return startPropNodeWith(t, name, transportNode, lxapp.Options{Propagation: po}, uris...)
}

// startPropNodeWith is startPropNode with more app options (DataDir, DisplayName, Links, Logger and
// Router are set here).
func startPropNodeWith(t *testing.T, name string, transportNode bool, ao lxapp.Options, uris ...string) *lxmfNode {
	t.Helper()
	dir := t.TempDir()
	// With RETICLE_TEST_DATABASE set the node's store is a fresh PostgreSQL schema.
	p := filepath.Join(dir, "reticle.db")
	st, err := store.Open(context.Background(), store.Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger(t).With("node", name)
	node, err := rns.New(rns.Options{
		DataDir: dir, Interfaces: uris, Transport: transportNode,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	links, err := link.New(link.Options{Transport: node.Transport(), Logger: log.With("component", "link")})
	if err != nil {
		t.Fatal(err)
	}
	ao.DataDir, ao.DisplayName, ao.Links, ao.Logger, ao.Router = dir, name, links, log, router.Options{}
	a, err := lxapp.New(ao, st, node)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []func(context.Context) error{node.Start, links.Start, a.Start} {
		if err := s(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = links.Close()
		_ = node.Close()
		_ = st.Close()
	})
	return &lxmfNode{node: node, st: st, app: a, links: links}
}

// startPropPeer starts proppeer.py; serve makes it a propagation node.
func startPropPeer(t *testing.T, name string, transportNode bool, ifaceSection string, serve bool) (*proc, event) {
	t.Helper()
	dir := writeConfig(t, transportNode, ifaceSection)
	args := []string{"python3", "proppeer.py", dir, t.TempDir(), name}
	if serve {
		args = append(args, "serve")
	}
	p := startProc(t, name, args...)
	ready := p.wait(30*time.Second, func(e event) bool { return e.str("event") == "ready" })
	if ready == nil {
		t.Fatalf("%s did not become ready", name)
	}
	return p, ready
}

// count returns how many events p has emitted so far.
func (p *proc) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// waitAfter is wait limited to events emitted after the first n.
func (p *proc) waitAfter(n int, timeout time.Duration, pred func(event) bool) event {
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, e := range p.seen[min(n, len(p.seen)):] {
			if pred(e) {
				p.mu.Unlock()
				return e
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-p.done:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitKnownNode makes py announce its propagation node until Reticle has
// recorded it (bounded, RETRY logged).
func waitKnownNode(t *testing.T, rt *lxmfNode, py *proc, pnAddr string) {
	t.Helper()
	ctx := context.Background()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		py.send(map[string]any{"cmd": "announce_pn"})
		for range 100 {
			info, err := rt.app.Propagation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range info.KnownNodes {
				if n.Address == pnAddr {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("RETRY: Reticle did not record propagation node %s (attempt %d)", pnAddr, attempt)
	}
	t.Fatal("Reticle never recorded the python propagation node")
}

// syncReticle runs Reticle syncs (bounded, RETRY logged) until the message
// with id is stored.
func syncReticle(t *testing.T, rt *lxmfNode, id string) lxapp.Message {
	t.Helper()
	ctx := context.Background()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err := rt.app.StartSync(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			s := rt.app.SyncStatus().State
			if s == propnode.SyncDone || s == propnode.SyncFailed {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		st := rt.app.SyncStatus()
		if m, ok := rt.message(t, id); ok {
			t.Logf("reticle sync %+v", st)
			return m
		}
		t.Logf("RETRY: reticle sync %+v did not bring %s (attempt %d)", st, id, attempt)
		time.Sleep(time.Second)
	}
	t.Fatalf("reticle never synced message %s", id)
	return lxapp.Message{}
}

// syncPython runs python syncs (bounded, RETRY logged) until py delivered
// the message with hash id.
func syncPython(t *testing.T, py *proc, id string) event {
	t.Helper()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		n := py.count()
		py.send(map[string]any{"cmd": "sync"})
		st := py.waitAfter(n, 90*time.Second, isEvent("sync_state"))
		if m := py.wait(2*time.Second, isEvent("message", "hash", id)); m != nil {
			t.Logf("python sync %v", st)
			return m
		}
		t.Logf("RETRY: python sync %v did not bring %s (attempt %d)", st, id, attempt)
		time.Sleep(time.Second)
	}
	t.Fatalf("python never synced message %s", id)
	return nil
}
