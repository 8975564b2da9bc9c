package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

var (
	// ErrMethodUnavailable means the delivery method is not implemented yet
	// (direct and propagated delivery).
	ErrMethodUnavailable = errors.New("delivery method not available")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("router already started")
	// ErrClosed means the router was closed.
	ErrClosed = errors.New("router closed")
	// ErrNoIdentity means Options.Identity is missing or has no private key.
	ErrNoIdentity = errors.New("lxmf identity with private key required")
	// ErrDeferred is what a Sink returns (wrapped) for a message it does not
	// store now by policy (a storage budget): the message is not proven and
	// the router logs it at debug level only, since the Sink logs it.
	ErrDeferred = errors.New("inbound message deferred")
)

// Clock is the router's time source.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a Router. Zero durations and counts take the defaults.
type Options struct {
	// Identity is the local LXMF identity (with private key). Required.
	Identity *identity.Identity
	// DisplayName is announced in the delivery app data.
	DisplayName string
	// StampCost is the stamp cost required of inbound messages (0: none).
	StampCost int
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock Clock
	// RetryWait is the wait after the first failed attempt; it doubles with
	// each further attempt up to MaxRetryWait (defaults 10 s and 5 min).
	RetryWait, MaxRetryWait time.Duration
	// PathWait is how long to wait for a path after requesting one (7 s,
	// LXMRouter.PATH_REQUEST_WAIT).
	PathWait time.Duration
	// MaxAttempts bounds send attempts per message (default 6).
	MaxAttempts int
	// MaxAge bounds the total time a message stays pending (default 1 h).
	MaxAge time.Duration
	// MaxStampCost is the highest stamp cost the router generates for a
	// peer that requires one (default 16); above it the message fails.
	MaxStampCost int
	// Limits bound inbound message decoding.
	Limits msgpack.Limits
	// BatchSize is how many due messages one pass handles (default 64).
	BatchSize int
	// Links, when set, enables direct delivery over links (both ways). The
	// manager is shared with the rest of the node; the router only listens
	// on its delivery destination and opens links to recipients.
	Links *link.Manager
	// MaxDirectSize bounds a message received over a link (default 8 MiB).
	MaxDirectSize int
	// LinkIdle closes a delivery link the router opened after this long
	// without a message (default 10 min, LXMRouter.LINK_MAX_INACTIVITY).
	LinkIdle time.Duration
	// MaxInboundPerPeer bounds the opportunistic and direct messages one
	// source may deliver per minute (default 60); all sources together may
	// deliver ten times that. Messages over the limit are not proven, so
	// their senders retry later. Propagation syncs, which the owner starts,
	// are not limited.
	MaxInboundPerPeer int
	// AdmitResource, when set, is asked about every direct-delivery resource
	// advertisement within MaxDirectSize before anything is transferred
	// (the app's storage budget); false rejects the advertisement, so the
	// sender fails this attempt and retries later. It runs with the link
	// locked and must not block.
	AdmitResource func(size int64) bool
	// Progress, when set, runs as a direct message sent as a resource moves: done of total bytes of
	// its packed form. It runs outside the link's lock and must not block.
	Progress func(id wire.FullHash, done, total int64)
	// PropagateOnFail, when set and true at the time, sends a direct or opportunistic message that ran
	// out of attempts through the propagation node instead of failing it, when a node is chosen
	// (LXMessage.try_propagation_on_fail). Its attempts start again; the total time bound stays.
	PropagateOnFail func() bool
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryWait, 10*time.Second)
	def(&o.MaxRetryWait, 5*time.Minute)
	def(&o.PathWait, 7*time.Second)
	def(&o.MaxAge, time.Hour)
	def(&o.LinkIdle, 10*time.Minute)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.MaxStampCost <= 0 {
		o.MaxStampCost = 16
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.MaxDirectSize <= 0 {
		o.MaxDirectSize = 8 << 20
	}
	if o.MaxInboundPerPeer <= 0 {
		o.MaxInboundPerPeer = 60
	}
	if o.Limits.MaxSize <= 0 {
		o.Limits.MaxSize = wire.MTU
	}
}

// conclusion is a receipt outcome handed from a transport goroutine to the
// router loop.
type conclusion struct {
	id       wire.FullHash
	attempts int
	status   transport.ReceiptStatus
	rtt      time.Duration
}

// flight counts a message's receipts still waiting for a proof.
type flight struct {
	receipts int
	until    time.Time // the latest receipt timeout
}

// Router delivers LXMF messages. Create it with New, then Start it.
type Router struct {
	opts      Options
	maxDirect atomic.Int64 // Options.MaxDirectSize, changed by SetMaxDirectSize
	log       *slog.Logger
	tr        *transport.Transport
	q         Queue
	sink      Sink
	dest      *transport.Destination
	unsub     func()
	limit     *inboundLimiter

	wake  chan struct{}
	stop  chan struct{} // closed by Close: ends receipt waiters
	wg    sync.WaitGroup
	runMu sync.Mutex // one RunOnce pass at a time

	mu          sync.Mutex
	concluded   []conclusion
	peers       []Peer
	peersLost   uint64
	inflight    map[wire.FullHash]*flight
	storeErr    bool
	pathAsked   map[wire.Hash]time.Time
	stamped     map[wire.FullHash][]byte
	links       map[wire.Hash]*link.Link
	linkOpened  map[wire.Hash]time.Time
	linkUsed    map[wire.Hash]time.Time
	linkWaiters map[wire.Hash]map[wire.FullHash]Outbound
	linkReady   []wire.Hash
	packets     []pendingPacket
	prop        propState
	started     bool
	closed      bool
	cancel      context.CancelFunc
	loopDone    chan struct{}
	displayName string
	stampCost   int
}

// maxPendingPeers bounds announces waiting for the router loop.
const maxPendingPeers = 1024

// New registers the lxmf.delivery destination of opts.Identity on tr and
// starts listening for lxmf.delivery announces. Nothing is sent until Start.
func New(opts Options, tr *transport.Transport, q Queue, sink Sink) (*Router, error) {
	if opts.Identity == nil || !opts.Identity.HasPrivateKey() {
		return nil, fmt.Errorf("new router: %w", ErrNoIdentity)
	}
	if tr == nil || q == nil || sink == nil {
		return nil, errors.New("new router: transport, queue and sink are required")
	}
	opts.defaults()
	r := &Router{
		opts: opts, log: opts.Logger, tr: tr, q: q, sink: sink,
		limit:       newInboundLimiter(opts.MaxInboundPerPeer, 10*opts.MaxInboundPerPeer),
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		inflight:    make(map[wire.FullHash]*flight),
		pathAsked:   make(map[wire.Hash]time.Time),
		stamped:     make(map[wire.FullHash][]byte),
		links:       make(map[wire.Hash]*link.Link),
		linkOpened:  make(map[wire.Hash]time.Time),
		linkUsed:    make(map[wire.Hash]time.Time),
		linkWaiters: make(map[wire.Hash]map[wire.FullHash]Outbound),
		displayName: opts.DisplayName,
		stampCost:   opts.StampCost,
	}
	r.maxDirect.Store(int64(opts.MaxDirectSize))
	d, err := tr.Register(transport.DestinationConfig{
		Identity: opts.Identity, App: lxmf.AppName, Aspects: []string{"delivery"},
		Proof:          transport.ProveApp,
		ProofRequested: r.onPacket,
		AppData:        r.appData,
	})
	if err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	r.dest = d
	if err := r.listenDirect(); err != nil {
		tr.Deregister(d)
		return nil, fmt.Errorf("new router: %w", err)
	}
	r.unsub = tr.HandleAnnounces(lxmf.AppName+".delivery", true, r.onAnnounce)
	return r, nil
}

// Hash returns the local lxmf.delivery destination hash (the LXMF address).
func (r *Router) Hash() wire.Hash { return r.dest.Hash() }

// Identity returns the local LXMF identity.
func (r *Router) Identity() *identity.Identity { return r.opts.Identity }

// DisplayName returns the announced display name.
func (r *Router) DisplayName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.displayName
}

// SetDisplayName changes the display name for the next announce.
func (r *Router) SetDisplayName(name string) {
	r.mu.Lock()
	r.displayName = name
	r.mu.Unlock()
}

// StampCost returns the stamp cost inbound messages must meet (0: none).
func (r *Router) StampCost() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stampCost
}

// SetStampCost changes the inbound stamp cost; it is announced with the next announce and required of
// messages from then on.
func (r *Router) SetStampCost(cost int) {
	r.mu.Lock()
	r.stampCost = cost
	r.mu.Unlock()
}

func (r *Router) appData() []byte {
	name, cost := r.DisplayName(), r.StampCost()
	return lxmf.DeliveryAppData{DisplayName: name, HasDisplayName: name != "", StampCost: cost}.Pack()
}

// Announce announces the delivery destination now.
func (r *Router) Announce() error {
	if err := r.tr.Announce(r.dest, nil); err != nil {
		return fmt.Errorf("announce lxmf delivery: %w", err)
	}
	return nil
}

// RememberPeer makes a peer stored earlier known to the transport, so
// messages to it can be sent before its next announce.
func (r *Router) RememberPeer(p Peer) error {
	if p.Identity == nil {
		return fmt.Errorf("remember peer %s: no identity", p.Hash)
	}
	if lxmf.DeliveryHash(p.Identity) != p.Hash {
		return fmt.Errorf("remember peer %s: %w", p.Hash, lxmf.ErrDestinationMismatch)
	}
	ad := lxmf.DeliveryAppData{DisplayName: p.DisplayName, HasDisplayName: p.DisplayName != "", StampCost: p.StampCost}.Pack()
	if err := r.tr.Remember(p.Hash, p.Identity, ad); err != nil {
		return fmt.Errorf("remember peer: %w", err)
	}
	return nil
}

// Wake makes the router look at the queue now. It never blocks.
func (r *Router) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start runs the delivery loop until ctx ends or Close is called.
func (r *Router) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.started {
		return ErrStarted
	}
	r.started = true
	ctx, r.cancel = context.WithCancel(ctx)
	r.loopDone = make(chan struct{})
	go r.loop(ctx)
	return nil
}

// Close stops the loop, waits for it, and deregisters the destination and
// the announce handler. Receipts still in flight are left to time out; their
// messages are retried after a restart.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cancel, done := r.cancel, r.loopDone
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	close(r.stop)
	r.wg.Wait()
	r.unsub()
	if r.opts.Links != nil {
		r.opts.Links.Unlisten(r.dest)
		r.closeLinks()
	}
	r.tr.Deregister(r.dest)
	return nil
}

// idleCheck bounds how long the loop sleeps without a wake-up, so a queue
// written by something other than the router is still noticed.
const idleCheck = time.Minute

func (r *Router) loop(ctx context.Context) {
	defer close(r.loopDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		r.RunOnce(ctx)
		d := r.untilNext(ctx)
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

// untilNext is how long the loop may wait before the next due message.
func (r *Router) untilNext(ctx context.Context) time.Duration {
	at, ok, err := r.q.NextDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("reading lxmf queue failed", "error", err)
		}
		return r.opts.RetryWait
	}
	if !ok {
		at = r.opts.Clock.Now().Add(idleCheck)
	}
	r.mu.Lock()
	storeErr := r.storeErr
	r.storeErr = false
	r.mu.Unlock()
	d := at.Sub(r.opts.Clock.Now())
	switch {
	case d <= 0 && storeErr:
		// State could not be written: do not spin on the same message.
		d = r.opts.RetryWait
	case d < 0:
		d = 0
	case d > idleCheck:
		d = idleCheck
	}
	if r.Stats().Links > 0 {
		d = min(d, r.opts.LinkIdle)
	}
	return d
}

// RunOnce does one pass of the loop's work: record receipt outcomes and
// announced peers, then send every due message. Start calls it; tests with
// a fake clock call it directly.
func (r *Router) RunOnce(ctx context.Context) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	r.mu.Lock()
	cs, ps, lost, ready := r.concluded, r.peers, r.peersLost, r.linkReady
	r.concluded, r.peers, r.peersLost, r.linkReady = nil, nil, 0, nil
	r.mu.Unlock()
	if lost > 0 {
		r.log.Warn("lxmf announces dropped: router busy", "count", lost)
	}
	cs = append(cs, r.collectPackets()...)
	for _, c := range cs {
		r.conclude(ctx, c)
	}
	for _, p := range ps {
		if err := r.sink.PeerAnnounced(ctx, p); err != nil && ctx.Err() == nil {
			r.log.Warn("recording lxmf peer failed", "peer", p.Hash.String(), "error", err)
		}
	}
	r.retryLinkWaiters(ctx, ready)
	r.sendDue(ctx)
	r.cleanLinks(r.opts.Clock.Now())
}

// onAnnounce runs on an interface goroutine: parse and hand over.
func (r *Router) onAnnounce(a transport.Announce) {
	ad, err := lxmf.ParseDeliveryAppData(a.AppData)
	if err != nil {
		r.log.Debug("lxmf announce with malformed app data", "destination", a.Destination.String(), "error", err)
	}
	p := Peer{Hash: a.Destination, Identity: a.Identity, DisplayName: ad.DisplayName, StampCost: ad.StampCost, Hops: a.Hops, Seen: r.opts.Clock.Now()}
	r.mu.Lock()
	if len(r.peers) >= maxPendingPeers {
		r.peersLost++
	} else {
		r.peers = append(r.peers, p)
	}
	r.mu.Unlock()
	r.Wake()
}

// SetMaxDirectSize changes Options.MaxDirectSize at once (n <= 0 is ignored).
func (r *Router) SetMaxDirectSize(n int) {
	if n > 0 {
		r.maxDirect.Store(int64(n))
	}
}

// MaxDirectSize is the cap in force on a message received over a link.
func (r *Router) MaxDirectSize() int { return int(r.maxDirect.Load()) }
