package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// TestSettingsAppliedLiveAndKept: a bad patch changes nothing; a good one is announced at once (the
// peer learns the new name and stamp cost without another announce from us), a message meeting the new
// stamp cost still arrives, and the saved settings survive a restart and win over the startup values.
func TestSettingsAppliedLiveAndKept(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	_ = n.a.app.Announce(ctx)
	_ = n.b.app.Announce(ctx)
	n.step(0)
	alice := n.a.app.Identity(ctx).Address

	got := n.a.app.GetSettings()
	if got.DisplayName != "alice" || got.StampCost != 0 || got.Defaults.DisplayName != "alice" {
		t.Fatalf("initial settings %+v", got)
	}
	for _, bad := range []SettingsPatch{
		{DisplayName: ptr(strings.Repeat("x", MaxDisplayNameBytes+1))},
		{DisplayName: ptr("evil\u202etxt")},
		{DisplayName: ptr("Good name"), StampCost: ptr(MaxStampCost + 1)},
		{StampCost: ptr(-1)},
		{AnnounceIntervalMinutes: ptr(-5)},
		{AnnounceIntervalMinutes: ptr(8 * 24 * 60)},
	} {
		if _, err := n.a.app.UpdateSettings(ctx, bad); !errors.Is(err, ErrInvalidSetting) {
			t.Errorf("patch %+v: %v, want ErrInvalidSetting", bad, err)
		}
	}
	if now := n.a.app.GetSettings(); now.Settings != got.Settings {
		t.Fatalf("a refused patch changed the settings: %+v", now)
	}

	n.clock.Advance(time.Minute) // an announce in the same second as the last one is not newer
	v, err := n.a.app.UpdateSettings(ctx, SettingsPatch{DisplayName: ptr("  Alice's node "), StampCost: ptr(4), AnnounceIntervalMinutes: ptr(90)})
	if err != nil || v.DisplayName != "Alice's node" || v.StampCost != 4 || v.AnnounceIntervalMinutes != 90 {
		t.Fatalf("update: %+v, %v", v, err)
	}
	n.step(0)
	page, err := n.b.app.ListPeers(ctx, PeerQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var seen *PeerInfo
	for i := range page.Items {
		if page.Items[i].Address == alice {
			seen = &page.Items[i]
		}
	}
	if seen == nil || seen.DisplayName != "Alice's node" || seen.StampCost != 4 {
		t.Fatalf("bob's view of alice after the settings change: %+v", seen)
	}
	m, err := n.b.app.Send(ctx, SendRequest{To: alice, Content: "stamped", Method: MethodOpportunistic})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		n.step(time.Second)
		if in, _ := n.a.app.listAll(ctx, n.b.app.Identity(ctx).Address); len(in) == 1 && in[0].ID == m.ID {
			break
		}
	}
	if in, _ := n.a.app.listAll(ctx, n.b.app.Identity(ctx).Address); len(in) != 1 {
		t.Fatalf("a message with the new stamp cost did not arrive: %d stored", len(in))
	}

	// Restart alice's app on the same store with other startup values: the saved settings win; an
	// empty name goes back to the startup name.
	if err := n.a.app.Close(); err != nil {
		t.Fatal(err)
	}
	tid, _ := identity.Generate()
	tr, err := transport.New(transport.Options{Identity: tid, Clock: n.clock})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	a2, err := newApp(Options{DataDir: n.a.dir, DisplayName: "startup name", AnnounceInterval: 6 * time.Hour, Clock: n.clock}, n.a.st, tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := a2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a2.Close() }()
	if s := a2.GetSettings(); s.DisplayName != "Alice's node" || s.StampCost != 4 || s.AnnounceIntervalMinutes != 90 ||
		s.Defaults.DisplayName != "startup name" || s.Defaults.AnnounceIntervalMinutes != 360 {
		t.Fatalf("after restart: %+v", s)
	}
	if s, err := a2.UpdateSettings(ctx, SettingsPatch{DisplayName: ptr(""), AnnounceIntervalMinutes: ptr(0)}); err != nil || s.DisplayName != "startup name" || s.AnnounceIntervalMinutes != 0 {
		t.Fatalf("reset name, interval off: %+v, %v", s, err)
	}
}

// TestAnnouncerIntervalChange: a new interval reaches a running loop, the newest value winning.
func TestAnnouncerIntervalChange(t *testing.T) {
	an := &announcer{every: make(chan time.Duration, 1)}
	an.setInterval(time.Hour)
	an.setInterval(2 * time.Hour) // replaces the value not yet taken
	if got := <-an.every; got != 2*time.Hour {
		t.Fatalf("loop got %v, want the newest 2h", got)
	}
	var nilAnn *announcer
	nilAnn.setInterval(time.Hour) // before Start: a no-op, not a panic
}

// TestPropagateOnFailureSetting: on by default, turned off and kept across a restart; the router's
// hand-over to the propagation node changes the stored message's method and says why.
func TestPropagateOnFailureSetting(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	if s := n.a.app.GetSettings(); !s.PropagateOnFailure || !s.Defaults.PropagateOnFailure || !n.a.app.propagateOnFail.Load() {
		t.Fatalf("default %+v", s)
	}
	v, err := n.a.app.UpdateSettings(ctx, SettingsPatch{PropagateOnFailure: ptr(false)})
	if err != nil || v.PropagateOnFailure || n.a.app.propagateOnFail.Load() {
		t.Fatalf("turned off: %+v, %v", v, err)
	}
	n.a.app.propagateOnFail.Store(true) // as a fresh start would have it, before the saved value applies
	n.a.app.settingsMu.Lock()
	err = n.a.app.applySettingsLocked(ctx, nil)
	n.a.app.settingsMu.Unlock()
	if err != nil || n.a.app.propagateOnFail.Load() {
		t.Fatalf("saved value not applied at start: %v", err)
	}

	// An outbound message stored as not due for an hour, so the router loop running in this test never
	// touches it: only the queue's update below changes it.
	id := wire.FullHash{0x5a, 0x17}
	if _, err := n.a.st.InsertMessage(ctx, &store.Message{MessageID: id.String(), Direction: store.DirectionOut,
		Peer: n.b.app.Identity(ctx).Address, Content: []byte("hello"), Packed: []byte{1}, State: store.StateQueued,
		Method: MethodOpportunistic, NextAttemptAt: time.Now().Add(time.Hour).UnixMilli(), CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	if err := (queue{n.a.app}).Update(ctx, id, router.Update{State: router.StateQueued, Method: lxmf.MethodPropagated,
		NextAttempt: time.Now().Add(time.Hour),
		Err:         "no delivery proof after the maximum number of attempts; sending through the propagation node"}); err != nil {
		t.Fatal(err)
	}
	got, err := n.a.st.GetMessage(ctx, id.String(), store.DirectionOut)
	if err != nil || got.Method != MethodPropagated || got.State != store.StateQueued || !strings.Contains(got.Error, "propagation node") {
		t.Fatalf("after the hand-over: method %q state %q error %q, %v", got.Method, got.State, got.Error, err)
	}
}

// TestLimitsAndHostingSettings: the inbound limit, the sync interval and hosting a propagation node are
// settings, validated, applied at once (hosting starts and stops the node at runtime, with its storage
// limit, keeping its address) and kept across a restart; a node without links refuses hosting.
func TestLimitsAndHostingSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	dir := t.TempDir()
	ctx := context.Background()
	n := startLoopNodeDir(t, dir, "host", Options{})
	got := n.app.GetSettings()
	if got.InboundPerMinute != got.Defaults.InboundPerMinute || got.InboundPerMinute != n.app.r.InboundLimit() || got.SyncIntervalMinutes != int(DefaultSyncInterval/time.Minute) || got.PropagationHosting || got.PropagationStorageMB != 500 {
		t.Fatalf("defaults %+v", got)
	}
	for _, bad := range []SettingsPatch{
		{InboundPerMinute: ptr(0)}, {InboundPerMinute: ptr(MaxInboundPerMinute + 1)},
		{SyncIntervalMinutes: ptr(-1)}, {SyncIntervalMinutes: ptr(int(MaxSyncInterval/time.Minute) + 1)},
		{PropagationStorageMB: ptr(0)}, {PropagationHosting: ptr(true), PropagationStorageMB: ptr(MaxPropagationStorageMB + 1)},
	} {
		if _, err := n.app.UpdateSettings(ctx, bad); !errors.Is(err, ErrInvalidSetting) {
			t.Errorf("patch %+v: %v, want ErrInvalidSetting", bad, err)
		}
	}
	if _, ok := n.app.PropagationServerAddress(); ok {
		t.Fatal("a refused patch started hosting")
	}

	if got.Transport || n.app.tr.IsTransport() {
		t.Fatalf("a node started without --transport forwards: %+v", got)
	}
	if _, err := n.app.UpdateSettings(ctx, SettingsPatch{MaxMessageMB: ptr(MaxMessageMB + 1)}); !errors.Is(err, ErrInvalidSetting) {
		t.Fatalf("max_message_mb over the range: %v", err)
	}
	v, err := n.app.UpdateSettings(ctx, SettingsPatch{InboundPerMinute: ptr(5), SyncIntervalMinutes: ptr(0), PropagationHosting: ptr(true), PropagationStorageMB: ptr(2), Transport: ptr(true), MaxMessageMB: ptr(3)})
	if err != nil || v.InboundPerMinute != 5 || v.SyncIntervalMinutes != 0 || !v.PropagationHosting || v.PropagationStorageMB != 2 || !v.Transport || v.MaxMessageMB != 3 {
		t.Fatalf("update: %+v, %v", v, err)
	}
	if n.app.r.MaxDirectSize() != 3<<20 || n.links.MaxResourceSize() != 3<<20+linkFraming {
		t.Fatalf("message size in force: router %d, links %d", n.app.r.MaxDirectSize(), n.links.MaxResourceSize())
	}
	if !n.app.tr.IsTransport() {
		t.Fatal("transport mode not applied")
	}
	if n.app.r.InboundLimit() != 5 {
		t.Fatalf("inbound limit in force %d", n.app.r.InboundLimit())
	}
	addr, ok := n.app.PropagationServerAddress()
	if !ok {
		t.Fatal("hosting turned on, no node")
	}
	info, err := n.app.Propagation(ctx)
	if err != nil || info.Server == nil || info.Server.StorageLimit != 2<<20 {
		t.Fatalf("hosted node %+v, %v", info.Server, err)
	}
	// A new limit replaces the running node; its address stays.
	if _, err := n.app.UpdateSettings(ctx, SettingsPatch{PropagationStorageMB: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	if info, _ = n.app.Propagation(ctx); info.Server == nil || info.Server.StorageLimit != 3<<20 || info.Server.Address != addr {
		t.Fatalf("after the new limit: %+v", info.Server)
	}
	if _, err := n.app.UpdateSettings(ctx, SettingsPatch{PropagationHosting: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.app.PropagationServerAddress(); ok {
		t.Fatal("hosting turned off, node still there")
	}
	if _, err := n.app.UpdateSettings(ctx, SettingsPatch{PropagationHosting: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if a2, ok := n.app.PropagationServerAddress(); !ok || a2 != addr {
		t.Fatalf("hosting again: %q %v, want %q", a2, ok, addr)
	}
	n.close()

	// Kept across a restart, over the startup values.
	n = startLoopNodeDir(t, dir, "host", Options{})
	defer n.close()
	if s := n.app.GetSettings(); s.InboundPerMinute != 5 || s.SyncIntervalMinutes != 0 || !s.PropagationHosting || s.PropagationStorageMB != 3 || !s.Transport || !n.app.tr.IsTransport() || s.MaxMessageMB != 3 || n.links.MaxResourceSize() != 3<<20+linkFraming {
		t.Fatalf("after restart %+v", s)
	}
	if a2, ok := n.app.PropagationServerAddress(); !ok || a2 != addr {
		t.Fatalf("hosted node after restart: %q %v", a2, ok)
	}

	plain := startLoopNodeOpts(t, "nolinks", false, Options{})
	defer plain.close()
	if _, err := plain.app.UpdateSettings(ctx, SettingsPatch{PropagationHosting: ptr(true)}); !errors.Is(err, ErrPropagationUnavailable) {
		t.Fatalf("hosting without links: %v", err)
	}
}

// TestTransportSettingDefaultsToTheNode: a node started as a transport node (--transport) keeps
// forwarding after the app starts when nothing is saved; the setting's default is the node's mode.
func TestTransportSettingDefaultsToTheNode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "reticle.db")
	st, err := store.Open(context.Background(), store.Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	node, err := rns.New(rns.Options{DataDir: dir, Transport: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{DataDir: dir, DisplayName: "hub"}, st, node)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := node.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = node.Close() }()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	if s := a.GetSettings(); !node.Transport().IsTransport() || !s.Transport || !s.Defaults.Transport {
		t.Fatalf("a transport node stopped forwarding when the app started: forwarding %v, settings %+v", node.Transport().IsTransport(), s)
	}
}

// TestMessageCapUntouchedWithoutASavedValue: without a saved max_message_mb the caps the node was built
// with stay exactly (the link layer's default also bounds syncs and NomadNet files).
func TestMessageCapUntouchedWithoutASavedValue(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	n := startLoopNodeOpts(t, "caps", true, Options{})
	defer n.close()
	if got := n.links.MaxResourceSize(); got != link.DefaultMaxResourceSize {
		t.Fatalf("link cap %d after start, want the default %d", got, link.DefaultMaxResourceSize)
	}
	if got := n.app.r.MaxDirectSize(); got != 8<<20 {
		t.Fatalf("router cap %d", got)
	}
}
