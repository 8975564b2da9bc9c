package propnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Request paths and response codes (LXMF/LXMPeer.py).
const (
	PathOffer = "/offer"
	PathGet   = "/get"

	ErrorNoIdentity   = 0xf0
	ErrorNoAccess     = 0xf1
	ErrorInvalidKey   = 0xf3
	ErrorInvalidData  = 0xf4
	ErrorInvalidStamp = 0xf5
	ErrorThrottled    = 0xf6
)

// Defaults of the reference (LXMRouter.py).
const (
	DefaultStampCost        = 16
	DefaultStampFlexibility = 3
	DefaultPeeringCost      = 18
	DefaultTransferLimitKB  = 256
	DefaultStorageLimit     = 500 << 20
	// MinStampCost is PROPAGATION_COST_MIN: reference clients refuse nodes
	// below it only by convention, so it is not enforced here.
	MinStampCost = 13
)

var (
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("propagation node already started")
	// ErrClosed means the server or client was closed.
	ErrClosed = errors.New("propagation closed")
)

// Clock is the time source.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Entry is a message a node accepted: its transient id, recipient and the
// propagated form followed by its propagation stamp.
type Entry struct {
	TransientID wire.FullHash
	Destination wire.Hash
	Data        []byte
	StampValue  int
	ReceivedAt  time.Time
}

// Listed is a held message's transient id and size.
type Listed struct {
	TransientID wire.FullHash
	Size        int64
}

// PutResult is what Store.Put did.
type PutResult struct {
	Inserted bool // false: already held
	Evicted  int  // older messages deleted to stay within the limit
}

// Store keeps a node's messages; the application implements it on its
// database so a restarted node serves what it held.
type Store interface {
	// Put stores an entry unless its transient id is held, evicting the
	// oldest entries beyond limit bytes; an entry larger than the limit is
	// an error.
	Put(ctx context.Context, e Entry, limit int64) (PutResult, error)
	// Has reports whether a transient id is held.
	Has(ctx context.Context, id wire.FullHash) (bool, error)
	// List returns what is held for a destination, smallest first.
	List(ctx context.Context, dest wire.Hash, limit int) ([]Listed, error)
	// Get returns the held data (with stamp) of ids for dest, in order.
	Get(ctx context.Context, dest wire.Hash, ids []wire.FullHash) ([][]byte, error)
	// Delete removes ids held for dest.
	Delete(ctx context.Context, dest wire.Hash, ids []wire.FullHash) (int, error)
	// Expire removes entries received before the given time.
	Expire(ctx context.Context, before time.Time) (int, error)
}

// LocalRecipient takes messages uploaded for a local delivery destination
// (the router), which a node delivers instead of storing.
type LocalRecipient interface {
	Hash() wire.Hash
	DeliverPropagated(lxmfData []byte) error
}

// ServerOptions configure a Server. Zero values take the defaults.
type ServerOptions struct {
	// Identity is the node identity (the LXMF identity, as the reference
	// uses). Required.
	Identity *identity.Identity
	// Name is announced in the node metadata.
	Name string
	// StampCost, StampFlexibility and PeeringCost are announced; uploads
	// need a stamp of at least StampCost-StampFlexibility.
	StampCost, StampFlexibility, PeeringCost int
	// TransferLimitKB is the per-transfer limit announced and enforced on
	// uploads, in kilobytes (default 256).
	TransferLimitKB float64
	// SyncLimitKB bounds peer sync transfers (default 40 x TransferLimitKB).
	SyncLimitKB float64
	// StorageLimit bounds the bytes stored (default 500 MB); the oldest
	// messages are evicted first.
	StorageLimit int64
	// MaxServe bounds the messages listed to one client request (default 1024).
	MaxServe int
	// AnnounceInterval re-announces the node and expires old messages
	// (default 30 min).
	AnnounceInterval time.Duration
	// MaxAge expires messages nobody fetched (default 30 days,
	// LXMRouter.MESSAGE_EXPIRY).
	MaxAge time.Duration
	// Peers are static peers (lxmf.propagation hashes) this node offers its
	// messages to every PeerInterval (default 10 min), when the Store
	// implements PeerStore.
	Peers        []wire.Hash
	PeerInterval time.Duration
	// Local, when set, receives uploads for the local delivery destination.
	Local LocalRecipient
	// Logger defaults to a discarding logger; Clock to the system clock.
	Logger *slog.Logger
	Clock  Clock
}

// Server is a propagation node.
type Server struct {
	opts  ServerOptions
	log   *slog.Logger
	tr    *transport.Transport
	links *link.Manager
	st    Store
	dest  *transport.Destination

	mu        sync.Mutex
	validated map[wire.Hash]bool // links that presented a valid peering key
	peerKeys  map[wire.Hash][]byte
	stats     ServerStats
	started   bool
	closed    bool
	cancel    context.CancelFunc
	done      chan struct{}
}

// ServerStats counts what a node did since it started.
type ServerStats struct {
	Received  int `json:"received"`  // messages accepted
	Rejected  int `json:"rejected"`  // entries refused (stamp, size, format)
	Served    int `json:"served"`    // messages sent to clients
	Evicted   int `json:"evicted"`   // messages dropped by the storage limit
	Delivered int `json:"delivered"` // uploads for the local destination
}

// NewServer registers the lxmf.propagation destination of opts.Identity and
// accepts links to it. Nothing is announced until Start.
func NewServer(opts ServerOptions, tr *transport.Transport, links *link.Manager, st Store) (*Server, error) {
	if opts.Identity == nil || !opts.Identity.HasPrivateKey() {
		return nil, errors.New("new propagation node: identity with private key required")
	}
	if tr == nil || links == nil || st == nil {
		return nil, errors.New("new propagation node: transport, link manager and store are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.StampCost <= 0 {
		opts.StampCost = DefaultStampCost
	}
	if opts.StampFlexibility < 0 || opts.StampFlexibility > opts.StampCost {
		opts.StampFlexibility = 0
	}
	if opts.PeeringCost <= 0 {
		opts.PeeringCost = DefaultPeeringCost
	}
	if opts.TransferLimitKB <= 0 {
		opts.TransferLimitKB = DefaultTransferLimitKB
	}
	if opts.SyncLimitKB < opts.TransferLimitKB {
		opts.SyncLimitKB = 40 * opts.TransferLimitKB
	}
	if opts.StorageLimit <= 0 {
		opts.StorageLimit = DefaultStorageLimit
	}
	if opts.MaxServe <= 0 {
		opts.MaxServe = 1024
	}
	if opts.AnnounceInterval <= 0 {
		opts.AnnounceInterval = 30 * time.Minute
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 30 * 24 * time.Hour
	}
	if opts.PeerInterval <= 0 {
		opts.PeerInterval = 10 * time.Minute
	}
	s := &Server{opts: opts, log: opts.Logger, tr: tr, links: links, st: st, validated: map[wire.Hash]bool{}, peerKeys: map[wire.Hash][]byte{}}
	d, err := tr.Register(transport.DestinationConfig{
		Identity: opts.Identity, App: lxmf.AppName, Aspects: []string{"propagation"},
		AppData: s.AppData,
	})
	if err != nil {
		return nil, fmt.Errorf("new propagation node: %w", err)
	}
	s.dest = d
	// An upload is proven only after its stamps were validated and its
	// entries stored: Confirm gates packet proofs, ConfirmResource
	// resource proofs.
	err = links.Listen(d, link.ListenConfig{
		ProveAll:        true,
		Confirm:         s.onPacket,
		ConfirmResource: s.onResource,
		Callbacks: link.Callbacks{
			ResourceAdvertised: s.onAdvertised,
			ResourceConcluded:  s.onResourceConcluded,
			Closed:             s.onClosed,
		},
		Handlers: []link.Handler{
			{Path: PathGet, Handle: s.handleGet},
			{Path: PathOffer, Handle: s.handleOffer},
		},
		MaxRequestSize: 1 << 20,
	})
	if err != nil {
		tr.Deregister(d)
		return nil, fmt.Errorf("new propagation node: %w", err)
	}
	return s, nil
}

// Hash returns the node's lxmf.propagation destination hash.
func (s *Server) Hash() wire.Hash { return s.dest.Hash() }

// Stats returns the counters since start.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Limits returns the announced stamp cost and the storage limit in bytes.
func (s *Server) Limits() (stampCost int, storageLimit int64) {
	return s.opts.StampCost, s.opts.StorageLimit
}

// AppData is the node's announce app data
// (LXMRouter.get_propagation_node_app_data).
func (s *Server) AppData() []byte {
	var meta lxmf.Fields
	meta.Set(lxmf.PNMetaName, msgpack.Bin([]byte(s.opts.Name)))
	return lxmf.PropagationNodeAppData{
		Timebase: s.opts.Clock.Now().Unix(), Enabled: true,
		TransferLimit: s.opts.TransferLimitKB, SyncLimit: s.opts.SyncLimitKB,
		StampCost: s.opts.StampCost, StampFlexibility: s.opts.StampFlexibility, PeeringCost: s.opts.PeeringCost,
		Metadata: meta,
	}.Pack()
}

// Announce announces the node now.
func (s *Server) Announce() error {
	if err := s.tr.Announce(s.dest, nil); err != nil {
		return fmt.Errorf("announce propagation node: %w", err)
	}
	return nil
}

// Start announces the node and re-announces it every AnnounceInterval
// until ctx ends or Close.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return ErrStarted
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.opts.AnnounceInterval)
		defer t.Stop()
		pt := time.NewTicker(s.opts.PeerInterval)
		defer pt.Stop()
		announce := true
		for {
			if announce {
				if err := s.Announce(); err != nil {
					s.log.Info("propagation node announce not sent", "error", err)
				}
				s.Expire(ctx)
			} else {
				_ = s.SyncPeers(ctx)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				announce = true
			case <-pt.C:
				announce = false
			}
		}
	}()
	s.log.Info("lxmf propagation node started", "address", s.dest.Hash().String(), "stamp_cost", s.opts.StampCost, "storage_limit", s.opts.StorageLimit)
	return nil
}

// Expire deletes the messages older than MaxAge and counts them as evicted.
func (s *Server) Expire(ctx context.Context) {
	n, err := s.st.Expire(ctx, s.opts.Clock.Now().Add(-s.opts.MaxAge))
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("expiring propagated messages failed", "error", err)
	case n > 0:
		s.count(func(st *ServerStats) { st.Evicted += n })
		s.log.Info("propagated messages expired", "count", n, "max_age", s.opts.MaxAge)
	}
}

// Close stops announcing and accepting links; links already up close with
// their peers.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.links.Unlisten(s.dest)
	s.tr.Deregister(s.dest)
	return nil
}

func (s *Server) count(f func(*ServerStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) onClosed(l *link.Link) {
	s.mu.Lock()
	delete(s.validated, l.ID())
	s.mu.Unlock()
}

func (s *Server) maxUpload() int64 { return int64(s.opts.SyncLimitKB * 1000) }

// onAdvertised accepts upload resources up to the sync limit
// (propagation_resource_advertised). It runs with the link locked.
func (s *Server) onAdvertised(_ *link.Link, a *link.Advertisement) bool {
	return a.DataSize > 0 && a.DataSize <= s.maxUpload()
}

// onPacket takes an upload in one link packet (propagation_packet). It is
// the link's Confirm hook: the packet is proven only when it returns true.
func (s *Server) onPacket(l *link.Link, data []byte) bool {
	return s.ingest(l, data, false)
}

// onResource takes an upload as a resource
// (propagation_resource_concluded). It is the link's ConfirmResource hook:
// the resource is proven only when it returns true.
func (s *Server) onResource(l *link.Link, r *link.Resource) bool {
	return s.ingest(l, r.Data(), true)
}

// onResourceConcluded logs upload resources that failed; complete ones
// were handled by onResource.
func (s *Server) onResourceConcluded(_ *link.Link, r *link.Resource) {
	if r.Err() != nil {
		s.log.Debug("propagation upload resource failed", "error", r.Err())
	}
}

// ingestTimeout bounds the store writes of one upload.
const ingestTimeout = 30 * time.Second

// ingest validates an upload [timestamp, [entry, ...]] and stores its
// entries. Clients may upload one message per transfer; more need a link
// that presented a valid peering key (/offer), as in the reference. It
// reports whether every entry was valid and stored (or already held), so
// that the upload may be proven.
func (s *Server) ingest(l *link.Link, data []byte, resource bool) bool {
	_, entries, err := lxmf.UnpackPropagationContainer(data, msgpack.Limits{MaxSize: int(s.maxUpload()) + 64, MaxItems: 1 << 16})
	if err != nil {
		s.log.Debug("malformed propagation upload", "error", err)
		s.count(func(st *ServerStats) { st.Rejected++ })
		return false
	}
	s.mu.Lock()
	peer := s.validated[l.ID()]
	s.mu.Unlock()
	if len(entries) > 1 && !peer {
		s.log.Info("propagation upload of several messages without a peering key; closing link", "messages", len(entries))
		s.count(func(st *ServerStats) { st.Rejected += len(entries) })
		_ = l.Close()
		return false
	}
	limit := int(s.opts.TransferLimitKB * 1000)
	if resource && peer {
		limit = int(s.maxUpload())
	}
	minCost := max(0, s.opts.StampCost-s.opts.StampFlexibility)
	ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
	defer cancel()
	invalid, failed := 0, 0
	for _, e := range entries {
		if len(e) > limit {
			invalid++
			continue
		}
		pe, err := lxmf.ValidatePropagationStamp(e, minCost)
		if err != nil {
			invalid++
			continue
		}
		if err := s.accept(ctx, pe, e); err != nil {
			failed++
			s.log.Warn("storing propagated message failed", "transient_id", pe.TransientID.String(), "error", err)
		}
	}
	if invalid > 0 {
		s.count(func(st *ServerStats) { st.Rejected += invalid })
		s.log.Info("propagation upload with invalid entries (stamp or size); closing link", "invalid", invalid, "entries", len(entries))
		if !resource {
			_ = l.Send(msgpack.Array(msgpack.Int(ErrorInvalidStamp)).Encode())
		}
		_ = l.Close()
		return false
	}
	if failed > 0 {
		s.log.Warn("propagation upload not fully stored; not proving it", "failed", failed, "entries", len(entries))
		return false
	}
	return true
}

// accept stores one validated entry, or delivers it when it is for the
// local destination (lxmf_propagation).
func (s *Server) accept(ctx context.Context, pe lxmf.PropagationEntry, entry []byte) error {
	dest := wire.Hash(pe.LXMFData[:lxmf.DestinationLength])
	if s.opts.Local != nil && dest == s.opts.Local.Hash() {
		if err := s.opts.Local.DeliverPropagated(pe.LXMFData); err != nil {
			return err
		}
		s.count(func(st *ServerStats) { st.Delivered++ })
		return nil
	}
	res, err := s.st.Put(ctx, Entry{
		TransientID: pe.TransientID, Destination: dest, Data: append([]byte(nil), entry...),
		StampValue: pe.StampValue, ReceivedAt: s.opts.Clock.Now(),
	}, s.opts.StorageLimit)
	if err != nil {
		s.count(func(st *ServerStats) { st.Rejected++ })
		return err
	}
	s.count(func(st *ServerStats) {
		if res.Inserted {
			st.Received++
		}
		st.Evicted += res.Evicted
	})
	if res.Evicted > 0 {
		s.log.Info("propagation storage limit reached: oldest messages evicted", "evicted", res.Evicted, "limit", s.opts.StorageLimit)
	}
	s.log.Debug("propagated message stored", "transient_id", pe.TransientID.String(), "destination", dest.String(), "new", res.Inserted)
	return nil
}

// requestTimeout bounds the store work of one request.
const requestTimeout = 30 * time.Second
