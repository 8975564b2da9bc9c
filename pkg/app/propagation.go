package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/propnode"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Propagation errors; pkg/web maps them.
var (
	// ErrNoPropagationNode means no propagation node is chosen.
	ErrNoPropagationNode = errors.New("no propagation node chosen")
	// ErrSyncRunning means a propagation sync is already running.
	ErrSyncRunning = propnode.ErrSyncRunning
	// ErrPropagationUnavailable means propagation needs links, which are off.
	ErrPropagationUnavailable = errors.New("propagation needs links, which are not configured")
)

// EventPropagationSync is published on every sync state change; State is
// the sync state and Peer the node.
const EventPropagationSync = "propagation.sync"

// settingPropagationNode is the settings key of the chosen node.
const settingPropagationNode = "lxmf.propagation_node"

// PropagationOptions configure propagation. The client side (discovery,
// sync, propagated sending) is on whenever Options.Links is set.
type PropagationOptions struct {
	// Serve makes this instance a propagation node.
	Serve bool
	// StorageLimit bounds the bytes a hosted node stores (default 500 MB).
	StorageLimit int64
	// StampCost is the hosted node's propagation stamp cost (default 16).
	StampCost int
	// Name is announced in the hosted node's metadata (default the display name).
	Name string
	// Peers are propagation nodes (lxmf.propagation addresses) the hosted
	// node offers its messages to, every PeerInterval (default 10 min).
	Peers        []string
	PeerInterval time.Duration
	// Client tunes sync (timeouts and per-sync bounds); Identity, Logger
	// are set by the app.
	Client propnode.ClientOptions
	// Clock drives sync waits (tests); default the system clock.
	Clock propnode.WaitClock
	// SyncInterval is how often the client syncs with its node (default DefaultSyncInterval; negative:
	// only when asked).
	SyncInterval time.Duration
}

// propagation holds the propagation components of the app.
type propagation struct {
	a      *App
	disc   *propnode.Discovery
	client *propnode.Client
	// server is the hosted node, nil when not hosting; the owner turns hosting on and off at runtime
	// (setHosting, under hostMu).
	server  atomic.Pointer[propnode.Server]
	hostMu  sync.Mutex
	peers   []wire.Hash
	started bool // start has run: a new hosted node starts at once

	mu  sync.Mutex
	ctx context.Context // the app's lifetime, for background syncs
	// syncEvery is the scheduled sync interval in force (negative: only when asked); the loop runs once
	// syncing (start has run).
	syncEvery time.Duration
	syncing   bool

	pinned atomic.Bool // the owner chose the node; otherwise chooseAuto picks it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newPropagation(a *App) (*propagation, error) {
	links := a.opts.Links
	if links == nil {
		return nil, nil
	}
	po := a.opts.Propagation
	p := &propagation{a: a, ctx: context.Background(), syncEvery: po.SyncInterval}
	if p.syncEvery == 0 {
		p.syncEvery = DefaultSyncInterval
	}
	log := a.log.With("component", "propagation")
	var err error
	if p.disc, err = propnode.NewDiscovery(propnode.DiscoveryOptions{Logger: log}, a.tr, nodeSink{a}); err != nil {
		return nil, err
	}
	co := po.Client
	co.Identity, co.Logger = a.r.Identity(), log
	co.OnChange = func(st propnode.SyncStatus) {
		a.events.Publish(Event{Kind: EventPropagationSync, Peer: st.Node, State: string(st.State)})
	}
	if po.Clock != nil {
		co.Clock = po.Clock
	}
	if p.client, err = propnode.NewClient(co, propnode.LinkNetwork{Transport: a.tr, Links: links}, a.r); err != nil {
		_ = p.disc.Close()
		return nil, err
	}
	for _, s := range po.Peers {
		h, err := ParseAddress(s)
		if err != nil {
			_ = p.disc.Close()
			return nil, fmt.Errorf("propagation peer %q: %w", s, err)
		}
		p.peers = append(p.peers, h)
	}
	if po.Serve {
		srv, err := p.newServer(po.StorageLimit)
		if err != nil {
			_ = p.disc.Close()
			return nil, err
		}
		p.server.Store(srv)
	}
	return p, nil
}

// newServer builds the hosted node with the given storage limit (0: the default).
func (p *propagation) newServer(limit int64) (*propnode.Server, error) {
	a, po := p.a, p.a.opts.Propagation
	name := po.Name
	if name == "" {
		name = a.opts.DisplayName
	}
	return propnode.NewServer(propnode.ServerOptions{
		Identity: a.r.Identity(), Name: name, StampCost: po.StampCost, StampFlexibility: -1,
		StorageLimit: limit, Local: a.r, Logger: a.log.With("component", "propagation"), Clock: a.opts.Clock,
		Peers: p.peers, PeerInterval: po.PeerInterval,
	}, a.tr, a.opts.Links, propStore{a})
}

// hosted is the hosted node, or nil.
func (p *propagation) hosted() *propnode.Server {
	if p == nil {
		return nil
	}
	return p.server.Load()
}

// setHosting turns the hosted node on (with the storage limit, 0: the default) or off. A running node
// whose limit changes is replaced; its stored messages stay in the store for the next one.
func (p *propagation) setHosting(ctx context.Context, on bool, limit int64) error {
	p.hostMu.Lock()
	defer p.hostMu.Unlock()
	cur := p.server.Load()
	if cur != nil {
		if _, l := cur.Limits(); on && (limit == 0 || l == limit) {
			return nil
		}
		p.server.Store(nil)
		_ = cur.Close()
		p.a.log.Info("hosted propagation node stopped", "address", cur.Hash().String())
	}
	if !on {
		return nil
	}
	srv, err := p.newServer(limit)
	if err != nil {
		return fmt.Errorf("host a propagation node: %w", err)
	}
	if p.started {
		if err := srv.Start(ctx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("host a propagation node: %w", err)
		}
	}
	p.server.Store(srv)
	return nil
}

// start restores the known nodes and the chosen one, then starts discovery
// and the hosted node (which announces itself).
func (p *propagation) start(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	p.ctx = context.WithoutCancel(ctx)
	p.mu.Unlock()
	nodes, err := p.a.st.ListPropagationNodes(ctx, 0)
	if err != nil {
		return fmt.Errorf("start propagation: %w", err)
	}
	for _, n := range nodes {
		h, herr := wire.ParseHash(n.Hash)
		id, ierr := identity.FromPublicKey(n.PublicKey)
		if herr != nil || ierr != nil || propnode.PropagationHash(id) != h {
			p.a.log.Warn("stored propagation node not restored", "node", n.Hash)
			continue
		}
		if err := p.a.tr.Remember(h, id, n.AppData); err != nil {
			p.a.log.Warn("stored propagation node not restored", "node", n.Hash, "error", err)
		}
	}
	switch v, err := p.a.st.GetSetting(ctx, settingPropagationNode); {
	case err == nil && v != "":
		if h, err := wire.ParseHash(v); err == nil {
			p.a.r.SetPropagationNode(h)
			p.pinned.Store(true)
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("start propagation: %w", err)
	}
	p.chooseAuto(ctx)
	p.mu.Lock()
	p.syncing = true
	p.restartSyncLocked()
	p.mu.Unlock()
	if err := p.disc.Start(ctx); err != nil {
		return fmt.Errorf("start propagation: %w", err)
	}
	p.hostMu.Lock()
	defer p.hostMu.Unlock()
	p.started = true
	if srv := p.server.Load(); srv != nil {
		if err := srv.Start(ctx); err != nil {
			return fmt.Errorf("start propagation: %w", err)
		}
	}
	return nil
}

// setSyncInterval changes the scheduled sync interval (negative: only when asked) and restarts the
// schedule when it runs.
func (p *propagation) setSyncInterval(every time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if every == p.syncEvery {
		return
	}
	p.syncEvery = every
	if p.syncing {
		p.restartSyncLocked()
	}
}

// restartSyncLocked stops the sync schedule and starts it again with syncEvery. p.mu held.
func (p *propagation) restartSyncLocked() {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
		p.cancel = nil
	}
	if p.syncEvery <= 0 {
		return
	}
	var lctx context.Context
	lctx, p.cancel = context.WithCancel(p.ctx)
	p.wg.Add(1)
	go p.syncLoop(lctx, p.syncEvery)
}

func (p *propagation) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.syncing = false
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	_ = p.client.Close()
	p.hostMu.Lock()
	if srv := p.server.Swap(nil); srv != nil {
		_ = srv.Close()
	}
	p.hostMu.Unlock()
	_ = p.disc.Close()
}

// planMethod is Message.Plan, except that a propagated message stays
// propagated whatever its size (the router picks packet or resource).
func planMethod(m *lxmf.Message, method lxmf.Method) (lxmf.Method, error) {
	if method == lxmf.MethodPropagated {
		return method, nil
	}
	planned, _, err := m.Plan(method)
	return planned, err
}

// PropagationNodeInfo is a known propagation node as the API shows it.
type PropagationNodeInfo struct {
	Address         string    `json:"address"`
	Name            string    `json:"name"`
	Enabled         bool      `json:"enabled"`
	StampCost       int       `json:"stamp_cost"`
	TransferLimitKB float64   `json:"transfer_limit_kb"`
	Hops            int       `json:"hops"`
	LastSeen        time.Time `json:"last_seen"`
}

// PropagationServerInfo describes the node this instance hosts.
type PropagationServerInfo struct {
	Address      string               `json:"address"`
	StampCost    int                  `json:"stamp_cost"`
	StorageLimit int64                `json:"storage_limit"`
	Stored       int64                `json:"stored"`
	StoredBytes  int64                `json:"stored_bytes"`
	Stats        propnode.ServerStats `json:"stats"`
}

// PropagationInfo is the propagation state for the API.
type PropagationInfo struct {
	Node string `json:"node"` // chosen node, empty when none
	// Auto: the node was chosen automatically (the best heard one), not pinned by the owner.
	Auto       bool                   `json:"auto"`
	KnownNodes []PropagationNodeInfo  `json:"known_nodes"`
	Sync       propnode.SyncStatus    `json:"sync"`
	Server     *PropagationServerInfo `json:"server,omitempty"`
}

// Propagation returns the chosen node, the known nodes, the sync status and
// the hosted node, if any.
func (a *App) Propagation(ctx context.Context) (PropagationInfo, error) {
	if a.prop == nil {
		return PropagationInfo{}, ErrPropagationUnavailable
	}
	info := PropagationInfo{KnownNodes: []PropagationNodeInfo{}, Sync: a.prop.client.Status()}
	if h, ok := a.r.PropagationNode(); ok {
		info.Node = h.String()
		info.Auto = !a.prop.pinned.Load()
	}
	rows, err := a.st.ListPropagationNodes(ctx, 256)
	if err != nil {
		return PropagationInfo{}, fmt.Errorf("propagation: %w", err)
	}
	for _, n := range rows {
		info.KnownNodes = append(info.KnownNodes, PropagationNodeInfo{
			Address: n.Hash, Name: n.Name, Enabled: n.Enabled, StampCost: n.StampCost,
			TransferLimitKB: n.TransferLimitKB, Hops: n.Hops, LastSeen: n.LastSeen,
		})
	}
	if s := a.prop.hosted(); s != nil {
		cost, limit := s.Limits()
		count, size, err := a.st.PropagationUsage(ctx)
		if err != nil {
			return PropagationInfo{}, fmt.Errorf("propagation: %w", err)
		}
		info.Server = &PropagationServerInfo{Address: s.Hash().String(), StampCost: cost, StorageLimit: limit, Stored: count, StoredBytes: size, Stats: s.Stats()}
	}
	return info, nil
}

// SetPropagationNode chooses the propagation node (its lxmf.propagation
// address) for propagated sending and sync; an empty address clears it.
// The choice is stored, and no link is opened until one is needed.
func (a *App) SetPropagationNode(ctx context.Context, address string) error {
	if a.prop == nil {
		return ErrPropagationUnavailable
	}
	var h wire.Hash
	if address != "" {
		var err error
		if h, err = ParseAddress(address); err != nil {
			return err
		}
	}
	v := ""
	if address != "" {
		v = hex.EncodeToString(h[:])
	}
	if err := a.st.SetSetting(ctx, settingPropagationNode, v); err != nil {
		return fmt.Errorf("set propagation node: %w", err)
	}
	a.prop.pinned.Store(address != "") // before the router, so that a concurrent chooseAuto backs off
	a.r.SetPropagationNode(h)
	if address == "" {
		a.prop.chooseAuto(ctx) // cleared: back to the best heard node
	}
	a.r.Wake()
	return nil
}

// StartSync starts downloading waiting messages from the chosen node in
// the background; GET the propagation state to follow it.
func (a *App) StartSync(context.Context) error {
	if a.prop == nil {
		return ErrPropagationUnavailable
	}
	h, ok := a.r.PropagationNode()
	if !ok {
		return ErrNoPropagationNode
	}
	a.prop.mu.Lock()
	ctx := a.prop.ctx
	a.prop.mu.Unlock()
	return a.prop.client.Start(ctx, h)
}

// CancelSync stops a running sync.
func (a *App) CancelSync() {
	if a.prop != nil {
		a.prop.client.Cancel()
	}
}

// SyncStatus returns the current or last sync's status.
func (a *App) SyncStatus() propnode.SyncStatus {
	if a.prop == nil {
		return propnode.SyncStatus{State: propnode.SyncIdle}
	}
	return a.prop.client.Status()
}

// PropagationServerAddress returns the hosted node's address, if any.
func (a *App) PropagationServerAddress() (string, bool) {
	s := a.prop.hosted()
	if s == nil {
		return "", false
	}
	return s.Hash().String(), true
}

// AnnouncePropagation announces the hosted propagation node now.
func (a *App) AnnouncePropagation() error {
	s := a.prop.hosted()
	if s == nil {
		return ErrPropagationUnavailable
	}
	if err := s.Announce(); err != nil {
		if errors.Is(err, transport.ErrNotSent) {
			return fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
		return err
	}
	return nil
}

// nodeSink records discovered propagation nodes in the store.
type nodeSink struct{ a *App }

func (s nodeSink) NodeAnnounced(ctx context.Context, n propnode.NodeInfo) error {
	if n.Identity == nil || propnode.PropagationHash(n.Identity) != n.Hash {
		return fmt.Errorf("propagation node %s: identity does not match", n.Hash)
	}
	name, _ := n.AppData.Name()
	err := s.a.st.UpsertPropagationNode(ctx, &store.PropagationNode{
		Hash: n.Hash.String(), PublicKey: n.Identity.PublicKey(), Name: name, Enabled: n.AppData.Enabled,
		StampCost: n.AppData.StampCost, StampFlexibility: n.AppData.StampFlexibility,
		TransferLimitKB: n.AppData.TransferLimit, AppData: n.Raw, Hops: int(n.Hops), LastSeen: n.Seen,
	})
	if err == nil && s.a.prop != nil {
		s.a.prop.chooseAuto(ctx)
	}
	return err
}

// propStore implements propnode.Store on the store.
type propStore struct{ a *App }

var _ propnode.Store = propStore{}

func (s propStore) Put(ctx context.Context, e propnode.Entry, limit int64) (propnode.PutResult, error) {
	res, err := s.a.st.InsertPropagationMessage(ctx, &store.PropagationMessage{
		TransientID: e.TransientID.String(), Destination: e.Destination.String(), Data: e.Data,
		StampValue: e.StampValue, ReceivedAt: e.ReceivedAt,
	}, limit)
	if err != nil {
		return propnode.PutResult{}, err
	}
	return propnode.PutResult{Inserted: res.Inserted, Evicted: res.Evicted}, nil
}

func (s propStore) Has(ctx context.Context, id wire.FullHash) (bool, error) {
	return s.a.st.HasPropagationMessage(ctx, id.String())
}

func (s propStore) List(ctx context.Context, dest wire.Hash, limit int) ([]propnode.Listed, error) {
	rows, err := s.a.st.ListPropagationMessages(ctx, dest.String(), limit)
	if err != nil {
		return nil, err
	}
	out := make([]propnode.Listed, 0, len(rows))
	for _, r := range rows {
		b, err := hex.DecodeString(r.TransientID)
		if err != nil || len(b) != wire.FullHashLen {
			continue
		}
		out = append(out, propnode.Listed{TransientID: wire.FullHash(b), Size: r.Size})
	}
	return out, nil
}

func hexIDs(ids []wire.FullHash) []string {
	out := make([]string, len(ids))
	for i := range ids {
		out[i] = ids[i].String()
	}
	return out
}

func (s propStore) Get(ctx context.Context, dest wire.Hash, ids []wire.FullHash) ([][]byte, error) {
	rows, err := s.a.st.GetPropagationMessages(ctx, dest.String(), hexIDs(ids))
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(rows))
	for i, r := range rows {
		out[i] = r.Data
	}
	return out, nil
}

var _ propnode.PeerStore = propStore{}

func (s propStore) Since(ctx context.Context, after time.Time, limit int) ([]propnode.Entry, error) {
	rows, err := s.a.st.PropagationMessagesSince(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]propnode.Entry, 0, len(rows))
	for _, r := range rows {
		tid, err1 := hex.DecodeString(r.TransientID)
		dest, err2 := wire.ParseHash(r.Destination)
		if err1 != nil || err2 != nil || len(tid) != wire.FullHashLen {
			continue
		}
		out = append(out, propnode.Entry{TransientID: wire.FullHash(tid), Destination: dest, Data: r.Data, StampValue: r.StampValue, ReceivedAt: r.ReceivedAt})
	}
	return out, nil
}

func peerSyncedKey(peer wire.Hash) string { return "lxmf.propagation_peer_synced." + peer.String() }

func (s propStore) PeerSynced(ctx context.Context, peer wire.Hash) (time.Time, error) {
	v, err := s.a.st.GetSetting(ctx, peerSyncedKey(peer))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, nil //nolint:nilerr // an unreadable mark means syncing from the start
	}
	return t, nil
}

func (s propStore) SetPeerSynced(ctx context.Context, peer wire.Hash, upTo time.Time) error {
	return s.a.st.SetSetting(ctx, peerSyncedKey(peer), upTo.UTC().Format(time.RFC3339Nano))
}

// SyncPropagationPeers offers the hosted node's new messages to its peers
// now (they are also offered every PeerInterval).
func (a *App) SyncPropagationPeers(ctx context.Context) error {
	s := a.prop.hosted()
	if s == nil {
		return ErrPropagationUnavailable
	}
	return s.SyncPeers(ctx)
}

func (s propStore) Expire(ctx context.Context, before time.Time) (int, error) {
	n, err := s.a.st.ExpirePropagationMessages(ctx, before)
	return int(n), err
}

func (s propStore) Delete(ctx context.Context, dest wire.Hash, ids []wire.FullHash) (int, error) {
	n, err := s.a.st.DeletePropagationMessages(ctx, dest.String(), hexIDs(ids))
	return int(n), err
}
