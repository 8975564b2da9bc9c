package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/propnode"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// waitFor polls cond (bounded) and fails with what after the timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPropagationLoopback: Reticle hosts a propagation node; another
// Reticle discovers it from its announce, uploads a propagated message
// (state sent), syncs it back down (stored as received, deleted on the
// node), and a message for the node's own address is delivered there.
func TestPropagationLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	addr := freeAddr(t)
	pn := startLoopNodeOpts(t, "pn", true, Options{Propagation: PropagationOptions{Serve: true, StampCost: 8, StorageLimit: 1 << 20}}, "tcp-server://"+addr)
	defer pn.close()
	a := startLoopNodeOpts(t, "alice", true, Options{}, "tcp-client://"+addr)
	defer a.close()
	ctx := context.Background()
	introduce(t, pn, a)
	pnAddr, ok := pn.app.PropagationServerAddress()
	if !ok {
		t.Fatal("no hosted node")
	}
	// Discovery records the node from its announce, without a link.
	waitFor(t, 10*time.Second, "alice records the propagation node", func() bool {
		if err := pn.app.prop.hosted().Announce(); err != nil {
			t.Logf("RETRY: announce: %v", err)
		}
		info, err := a.app.Propagation(ctx)
		return err == nil && len(info.KnownNodes) == 1 && info.KnownNodes[0].Address == pnAddr && info.KnownNodes[0].StampCost == 8
	})
	if n := len(a.links.Links()); n != 0 {
		t.Fatalf("discovery opened %d links", n)
	}
	// Nothing pinned: the only heard node is chosen automatically (just after it is recorded).
	waitFor(t, 10*time.Second, "automatic choice of the only heard node", func() bool {
		info, _ := a.app.Propagation(ctx)
		return info.Node == pnAddr && info.Auto
	})
	if err := a.app.SetPropagationNode(ctx, pnAddr); err != nil {
		t.Fatal(err)
	}
	if info, _ := a.app.Propagation(ctx); info.Node != pnAddr || info.Auto {
		t.Fatalf("pinned: node %q auto %v", info.Node, info.Auto)
	}
	me := a.app.Identity(ctx).Address
	m, err := a.app.Send(ctx, SendRequest{To: me, Title: "note", Content: "kept for me by the node", Method: MethodPropagated})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "upload accepted", func() bool {
		got, _ := a.st.GetMessage(ctx, m.ID, store.DirectionOut)
		return got.State == store.StateSent || got.State == store.StateFailed
	})
	if got, _ := a.st.GetMessage(ctx, m.ID, store.DirectionOut); got.State != store.StateSent || got.Method != MethodPropagated {
		t.Fatalf("outbound %+v", got)
	}
	waitFor(t, 10*time.Second, "node stores the message", func() bool {
		n, _, _ := pn.st.PropagationUsage(ctx)
		return n == 1
	})
	events, unsub := a.app.Events().Subscribe(64)
	defer unsub()
	if err := a.app.StartSync(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "sync finishes", func() bool {
		s := a.app.SyncStatus().State
		return s == propnode.SyncDone || s == propnode.SyncFailed
	})
	if st := a.app.SyncStatus(); st.State != propnode.SyncDone || st.Received != 1 {
		t.Fatalf("sync %+v", st)
	}
	var states []string
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.Kind == EventPropagationSync {
				states = append(states, ev.State)
				done = ev.State == string(propnode.SyncDone)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("sync events %v: no done", states)
		}
	}
	if states[0] != string(propnode.SyncLinking) && states[0] != string(propnode.SyncPathRequested) {
		t.Fatalf("sync events %v", states)
	}
	in, err := a.st.GetMessage(ctx, m.ID, store.DirectionIn)
	if err != nil || in.Method != MethodPropagated || string(in.Content) != "kept for me by the node" {
		t.Fatalf("inbound %+v, %v", in, err)
	}
	waitFor(t, 10*time.Second, "node deletes the synced message", func() bool {
		n, _, _ := pn.st.PropagationUsage(ctx)
		return n == 0
	})
	// A second sync finds nothing and finishes.
	if err := a.app.StartSync(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "empty sync finishes", func() bool { return a.app.SyncStatus().State == propnode.SyncDone })

	// A message for the node's own address is delivered there, not stored.
	m2, err := a.app.Send(ctx, SendRequest{To: pn.app.Identity(ctx).Address, Content: "for the node itself", Method: MethodPropagated})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "local delivery", func() bool {
		_, err := pn.st.GetMessage(ctx, m2.ID, store.DirectionIn)
		return err == nil
	})
	// The node stores the message before it counts the delivery, so the counter may trail the row.
	var info PropagationInfo
	waitFor(t, 10*time.Second, "delivery counted", func() bool {
		info, err = pn.app.Propagation(ctx)
		return err == nil && info.Server != nil && info.Server.Stats.Delivered == 1
	})
	if info.Server.Stats.Received != 1 {
		t.Fatalf("server info %+v", info.Server)
	}
}

// startLoopNodeDir is startLoopNodeOpts with links on a given data dir, so
// a test can restart a node.
func startLoopNodeDir(tb testing.TB, dir, name string, opts Options, uris ...string) *loopNode {
	tb.Helper()
	return startLoopNodeIn(tb, dir, name, true, opts, uris...)
}

// TestPropagationRestart: a hosted node and its client both restart; the
// node still holds and serves the message, and the client still has its
// chosen node and the node's identity, so a sync works with no announce.
func TestPropagationRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	addr := freeAddr(t)
	pnDir, aDir := t.TempDir(), t.TempDir()
	popts := Options{Propagation: PropagationOptions{Serve: true, StampCost: 4}}
	pn := startLoopNodeDir(t, pnDir, "pn", popts, "tcp-server://"+addr)
	a := startLoopNodeDir(t, aDir, "alice", Options{}, "tcp-client://"+addr)
	ctx := context.Background()
	pnAddr, _ := pn.app.PropagationServerAddress()
	waitFor(t, 10*time.Second, "alice records the node", func() bool {
		_ = pn.app.AnnouncePropagation()
		info, _ := a.app.Propagation(ctx)
		return len(info.KnownNodes) == 1
	})
	if err := a.app.SetPropagationNode(ctx, pnAddr); err != nil {
		t.Fatal(err)
	}
	m, err := a.app.Send(ctx, SendRequest{To: a.app.Identity(ctx).Address, Content: "survives restarts", Method: MethodPropagated})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "upload accepted", func() bool {
		got, _ := a.st.GetMessage(ctx, m.ID, store.DirectionOut)
		return got.State == store.StateSent
	})
	a.close()
	pn.close()

	pn = startLoopNodeDir(t, pnDir, "pn", popts, "tcp-server://"+addr)
	defer pn.close()
	a = startLoopNodeDir(t, aDir, "alice", Options{}, "tcp-client://"+addr)
	defer a.close()
	if again, _ := pn.app.PropagationServerAddress(); again != pnAddr {
		t.Fatalf("node address changed across restart: %s -> %s", pnAddr, again)
	}
	info, err := a.app.Propagation(ctx)
	if err != nil || info.Node != pnAddr {
		t.Fatalf("chosen node after restart %q, %v", info.Node, err)
	}
	var st propnode.SyncStatus
	for attempt := 1; attempt <= 3; attempt++ {
		if err := a.app.StartSync(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "sync finishes", func() bool {
			s := a.app.SyncStatus().State
			return s == propnode.SyncDone || s == propnode.SyncFailed
		})
		if st = a.app.SyncStatus(); st.State == propnode.SyncDone && st.Received == 1 {
			break
		}
		t.Logf("RETRY: sync after restart %+v (attempt %d)", st, attempt)
	}
	if st.Received != 1 {
		t.Fatalf("sync after restart %+v", st)
	}
	if _, err := a.st.GetMessage(ctx, m.ID, store.DirectionIn); err != nil {
		t.Fatal(err)
	}
}

// TestPropagationPeering: a hosted node offers its new messages to its
// static peer (/offer with a peering key, then one resource), the peer
// stores them, and the next round offers nothing again.
func TestPropagationPeering(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	addr := freeAddr(t)
	ctx := context.Background()
	pn2 := startLoopNodeDir(t, t.TempDir(), "pn2", Options{Propagation: PropagationOptions{Serve: true, StampCost: 4}}, "tcp-client://"+addr)
	defer pn2.close()
	pn2Addr, _ := pn2.app.PropagationServerAddress()
	pn1 := startLoopNodeDir(t, t.TempDir(), "pn1", Options{Propagation: PropagationOptions{Serve: true, StampCost: 4, Peers: []string{pn2Addr}, PeerInterval: time.Hour}}, "tcp-server://"+addr)
	defer pn1.close()
	waitFor(t, 10*time.Second, "pn1 records pn2", func() bool {
		_ = pn2.app.AnnouncePropagation()
		info, _ := pn1.app.Propagation(ctx)
		for _, n := range info.KnownNodes {
			if n.Address == pn2Addr {
				return true
			}
		}
		return false
	})
	// A message pn1 holds for someone else.
	src, _ := identity.Generate()
	to, _ := identity.Generate()
	m := &lxmf.Message{Destination: lxmf.DeliveryHash(to), Timestamp: lxmf.Timestamp(time.Now()), Content: []byte("peered")}
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	data, tid, err := m.EncryptFor(to, nil)
	if err != nil {
		t.Fatal(err)
	}
	stamp, value, err := lxmf.GeneratePropagationStamp(ctx, tid, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pn1.st.InsertPropagationMessage(ctx, &store.PropagationMessage{
		TransientID: tid.String(), Destination: m.Destination.String(), Data: append(data, stamp...), StampValue: value, ReceivedAt: time.Now(),
	}, 1<<20); err != nil {
		t.Fatal(err)
	}
	var serr error
	for attempt := 1; attempt <= 3; attempt++ {
		if serr = pn1.app.SyncPropagationPeers(ctx); serr == nil {
			break
		}
		t.Logf("RETRY: peer sync: %v (attempt %d)", serr, attempt)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	waitFor(t, 10*time.Second, "pn2 stores the peered message", func() bool {
		has, _ := pn2.st.HasPropagationMessage(ctx, tid.String())
		return has
	})
	// Nothing new: the next round opens no link and offers nothing.
	if err := pn1.app.SyncPropagationPeers(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := pn2.st.PropagationUsage(ctx); n != 1 {
		t.Fatalf("pn2 holds %d", n)
	}
}

// TestPropagationAutoChoice: with nothing pinned the client uses the enabled node with the fewest hops
// (the most recently heard among equals); a pinned node wins until the owner clears the choice.
func TestPropagationAutoChoice(t *testing.T) {
	n := startLoopNodeOpts(t, "alice", true, Options{Propagation: PropagationOptions{SyncInterval: -1}})
	defer n.close()
	ctx := context.Background()
	now := time.Now().UTC()
	put := func(hash string, hops int, enabled bool, seen time.Time) {
		t.Helper()
		if err := n.st.UpsertPropagationNode(ctx, &store.PropagationNode{Hash: hash, PublicKey: make([]byte, 64),
			Enabled: enabled, Hops: hops, LastSeen: seen}); err != nil {
			t.Fatal(err)
		}
		n.app.prop.chooseAuto(ctx)
	}
	chosen := func() (string, bool) {
		info, err := n.app.Propagation(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.Node, info.Auto
	}
	far, near, nearOld, off := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32), strings.Repeat("d", 32)
	put(far, 3, true, now)
	if got, auto := chosen(); got != far || !auto {
		t.Fatalf("one node: %q auto %v", got, auto)
	}
	put(nearOld, 1, true, now.Add(-time.Hour))
	put(near, 1, true, now)
	put(off, 0, false, now) // propagation off: never chosen
	if got, _ := chosen(); got != near {
		t.Fatalf("chosen %q, want the nearest most recently heard %q", got, near)
	}
	if err := n.app.SetPropagationNode(ctx, far); err != nil {
		t.Fatal(err)
	}
	put(strings.Repeat("e", 32), 0, true, now)
	if got, auto := chosen(); got != far || auto {
		t.Fatalf("pinned: %q auto %v, want %q pinned", got, auto, far)
	}
	if err := n.app.SetPropagationNode(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got, auto := chosen(); got != strings.Repeat("e", 32) || !auto {
		t.Fatalf("cleared: %q auto %v, want the nearest chosen automatically", got, auto)
	}
}
