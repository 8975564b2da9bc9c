package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	lxapp "github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// requireLXMF skips (or fails under RETICLE_REQUIRE_EXTERNAL=1) without an
// importable LXMF reference.
func requireLXMF(t *testing.T) {
	t.Helper()
	requirePython(t)
	out, err := exec.Command("python3", "-c", "import LXMF; print(LXMF.__version__)").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("LXMF reference not available (python3 -c 'import LXMF': %v: %s); pip install lxmf==1.2.1", err, bytes.TrimSpace(out))
		if os.Getenv("RETICLE_REQUIRE_EXTERNAL") == "1" {
			t.Fatal(msg)
		}
		skipMissing(t, "LXMF reference not importable", msg)
	}
	t.Logf("python reference LXMF %s", bytes.TrimSpace(out))
}

// lxmfNode is a Reticle node with the messaging app on a temp store.
type lxmfNode struct {
	node  *rns.Node
	st    *store.Store
	app   *lxapp.App
	links *link.Manager
}

// startLXMFNode starts store, node, link manager and app, in the order
// cmd/reticle wires them.
func startLXMFNode(t *testing.T, name string, ro router.Options, uris ...string) *lxmfNode {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "reticle.db")})
	if err != nil {
		t.Fatal(err)
	}
	node, err := rns.New(rns.Options{
		DataDir: dir, Interfaces: uris,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second,
		Logger: testLogger(t).With("node", name),
	})
	if err != nil {
		t.Fatal(err)
	}
	links, err := link.New(link.Options{Transport: node.Transport(), Logger: testLogger(t).With("node", name, "component", "link")})
	if err != nil {
		t.Fatal(err)
	}
	if ro.MaxInboundPerPeer == 0 {
		ro.MaxInboundPerPeer = 1 << 20 // the rate tests push far more than the default per-peer limit
	}
	a, err := lxapp.New(lxapp.Options{DataDir: dir, DisplayName: name, Router: ro, Links: links, Logger: testLogger(t).With("node", name)}, st, node)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := links.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Close()
		_ = links.Close()
		_ = node.Close()
		_ = st.Close()
	})
	return &lxmfNode{node: node, st: st, app: a, links: links}
}

// startLXMFPeer starts lxmfpeer.py (a Python LXMF router) with the given
// interface section.
func startLXMFPeer(t *testing.T, name, ifaceSection string, extra ...string) (*proc, event) {
	t.Helper()
	dir := writeConfig(t, false, ifaceSection)
	storage := t.TempDir()
	p := startProc(t, name, append([]string{"python3", "lxmfpeer.py", dir, storage, name}, extra...)...)
	ready := p.wait(30*time.Second, func(e event) bool { return e.str("event") == "ready" })
	if ready == nil {
		t.Fatalf("%s did not become ready", name)
	}
	return p, ready
}

// message returns the stored message with id, if any.
func (n *lxmfNode) message(t *testing.T, id string) (lxapp.Message, bool) {
	t.Helper()
	m, err := n.app.GetMessage(context.Background(), id)
	if errors.Is(err, lxapp.ErrNotFound) {
		return lxapp.Message{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return m, true
}

// waitMessage polls the store (bounded) for a message with id.
func (n *lxmfNode) waitMessage(t *testing.T, id string, timeout time.Duration) (lxapp.Message, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m, ok := n.message(t, id); ok || time.Now().After(deadline) {
			return m, ok
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState polls the stored state of an outbound message until it is
// final or the timeout passes.
func (n *lxmfNode) waitState(t *testing.T, id string, timeout time.Duration) lxapp.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m, ok := n.message(t, id)
		if ok && (m.State == store.StateDelivered || m.State == store.StateFailed) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}
