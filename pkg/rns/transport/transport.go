package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Sentinel errors.
var (
	// ErrNoIdentity is returned by New without a transport identity.
	ErrNoIdentity = errors.New("transport identity with private key required")
	// ErrUnknownDestination means no identity is known for a destination hash.
	ErrUnknownDestination = errors.New("unknown destination")
	// ErrDuplicateDestination means a destination hash is already registered.
	ErrDuplicateDestination = errors.New("destination already registered")
	// ErrNotSent means no interface accepted the packet.
	ErrNotSent = errors.New("packet not sent")
	// ErrTooLarge means the payload does not fit one packet.
	ErrTooLarge = errors.New("payload too large for one packet")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("transport closed")
)

// Reference timing and table constants (RNS/Transport.py, RNS/Reticulum.py).
const (
	pathfinderR            = 1                      // PATHFINDER_R: retransmit retries
	pathfinderG            = 5 * time.Second        // PATHFINDER_G: retry grace period
	pathfinderRW           = 0.5                    // PATHFINDER_RW: random rebroadcast window, seconds
	pathExpiry             = 7 * 24 * time.Hour     // PATHFINDER_E
	localRebroadcastsMax   = 2                      // LOCAL_REBROADCASTS_MAX
	pathRequestTimeout     = 15 * time.Second       // PATH_REQUEST_TIMEOUT
	pathRequestGateTimeout = 45 * time.Second       // PATH_REQUEST_GATE_TIMEOUT
	pathRequestGrace       = 400 * time.Millisecond // PATH_REQUEST_GRACE
	reverseTimeout         = 8 * time.Minute        // REVERSE_TIMEOUT
	maxRateTimestamps      = 16                     // MAX_RATE_TIMESTAMPS
	maxRandomBlobs         = 64                     // MAX_RANDOM_BLOBS
	perHopTimeout          = 6 * time.Second        // Reticulum.DEFAULT_PER_HOP_TIMEOUT
	jobInterval            = 250 * time.Millisecond
	announcesCheckInterval = time.Second
	receiptsCheckInterval  = time.Second
	tablesCullInterval     = 5 * time.Second
	interfaceJobsInterval  = 5 * time.Second
	maxPRTags              = 16000
)

// AnnounceRate limits how often announces for one destination are
// rebroadcast, as the reference's per-interface announce_rate_target, grace
// and penalty. The reference applies it only in transport mode, with a
// default target of one hour and grace of 5.
type AnnounceRate struct {
	// Disabled turns rate limiting off.
	Disabled bool
	// Target is the minimum interval between announces of one destination
	// (default 1h).
	Target time.Duration
	// Grace is how many violations are tolerated (default 5).
	Grace int
	// Penalty is added to the block time (default 0).
	Penalty time.Duration
}

// Options configure a Transport.
type Options struct {
	// Identity is the transport identity; its hash is the transport id. Required.
	Identity *identity.Identity
	// Transport enables forwarding (a transport node); otherwise the node only
	// handles its own traffic.
	Transport bool
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock Clock
	// Rand returns a float in [0,1) for the random rebroadcast delay; defaults
	// to crypto/rand.
	Rand func() float64
	// Ingress configures announce ingress control.
	Ingress IngressControl
	// AnnounceRate configures rebroadcast rate limits (transport mode only).
	AnnounceRate AnnounceRate
	// HashlistSize bounds the duplicate filter (default 262144 hashes).
	HashlistSize int
	// MaxPaths bounds the path table (default DefaultMaxTable); the oldest
	// unprotected path goes first (caps.go).
	MaxPaths int
	// MaxReceipts bounds outstanding receipts (default 1024, MAX_RECEIPTS).
	MaxReceipts int
	// MaxKnown bounds remembered destination identities (default
	// DefaultMaxTable); the least recently seen unprotected one goes first.
	MaxKnown int
	// Pinned, when set, protects destinations (contacts) from table eviction.
	Pinned func(wire.Hash) bool
	// Links receives link-layer packets addressed to this node; optional.
	Links LinkHandler
	// RatchetDir is where ratchet rings of destinations registered with
	// Ratchets and no RatchetsPath persist, one file per destination hash;
	// empty keeps such rings in memory only.
	RatchetDir string
	// IFAC returns the interface access code settings of an interface, or
	// nil for none. Sub-interfaces of a server inherit their parent's.
	IFAC func(i iface.Interface) *identity.IFAC
}

// LinkHandler receives packets that belong to the link layer: link requests
// for local destinations, data and proofs on LINK destinations, and link
// request proofs. The packet's Hops already counts the last hop.
type LinkHandler interface {
	HandleLinkPacket(p *wire.Packet, hash wire.FullHash, from iface.Interface)
}

// pathEntry is one row of the path table.
type pathEntry struct {
	updated      time.Time
	nextHop      wire.Hash
	hops         uint8
	expires      time.Time
	randomBlobs  [][wire.RandomHashLen]byte
	st           *ifState
	announce     *wire.Packet // as received, for answering path requests
	unresponsive bool
}

// announceEntry is one row of the announce (rebroadcast) table.
type announceEntry struct {
	created           time.Time
	retransmitAt      time.Time
	retries           int
	receivedFrom      wire.Hash
	hops              uint8
	pkt               *wire.Packet
	localRebroadcasts int
	blockRebroadcasts bool
	attached          *ifState
}

type reverseEntry struct {
	rcvd, out *ifState
	at        time.Time
}

type rateEntry struct {
	last         time.Time
	violations   int
	blockedUntil time.Time
	timestamps   []time.Time
}

type knownDest struct {
	id        *identity.Identity
	appData   []byte
	ratchet   []byte
	ratchetAt time.Time // when ratchet was announced
	seen      time.Time
}

// Transport is the routing core. Create it with New; it implements
// iface.Handler.
type Transport struct {
	opts  Options
	id    *identity.Identity
	tid   wire.Hash
	log   *slog.Logger
	clock Clock
	rand  func() float64
	ic    IngressControl
	rate  AnnounceRate

	mu            sync.Mutex
	ifs           map[iface.Interface]*ifState
	order         []*ifState
	dests         map[wire.Hash]*Destination
	paths         map[wire.Hash]*pathEntry
	announces     map[wire.Hash]*announceEntry
	heldAnnounces map[wire.Hash]*announceEntry
	reverse       map[wire.Hash]*reverseEntry
	linkTable     map[wire.Hash]*linkEntry
	rates         map[wire.Hash]*rateEntry
	known         map[wire.Hash]*knownDest
	pathRequests  map[wire.Hash]time.Time // our own outstanding path requests
	discoveryPRs  map[wire.Hash]*discoveryPR
	prTags        *tagSet
	hashes        *hashlist
	receipts      map[wire.Hash]*Receipt // by truncated packet hash
	receiptOrder  []*Receipt
	handlers      []*announceHandler
	prDest        wire.Hash
	stats         Counters
	drops         DropCounter

	// Shared instance state (shared.go).
	nLocal, nUpstream int
	pendingLocalPRs   map[wire.Hash]*ifState   // path requests waiting on a local client
	pendingPaths      map[string][]pendingPath // restored paths by interface name (persist.go)

	lastAnnounces, lastReceipts, lastCull, lastIfJobs time.Time

	ifacs sync.Map // iface.Interface -> *identity.IFAC, read without t.mu

	runMu   sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
	started bool
}

var _ iface.Handler = (*Transport)(nil)

// Counters are transport-wide totals.
type Counters struct {
	PacketsIn, PacketsOut uint64
	Malformed, Duplicates uint64
	AnnouncesValid        uint64
	AnnouncesInvalid      uint64
	AnnouncesHeld         uint64
	AnnouncesRebroadcast  uint64
	Forwarded             uint64
	Delivered             uint64
	PathRequestsIn        uint64
	PathResponsesSent     uint64
}

// New builds a transport. It does not start the job loop; see Start.
func New(opts Options) (*Transport, error) {
	if opts.Identity == nil || !opts.Identity.HasPrivateKey() {
		return nil, ErrNoIdentity
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Rand == nil {
		opts.Rand = cryptoFloat
	}
	if opts.HashlistSize <= 0 {
		opts.HashlistSize = 262144
	}
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = DefaultMaxTable
	}
	if opts.MaxReceipts <= 0 {
		opts.MaxReceipts = 1024
	}
	if opts.MaxKnown <= 0 {
		opts.MaxKnown = DefaultMaxTable
	}
	rate := opts.AnnounceRate
	if rate.Target <= 0 {
		rate.Target = time.Hour
	}
	if rate.Grace <= 0 {
		rate.Grace = 5
	}
	if !opts.Transport {
		rate.Disabled = true
	}
	prName, err := identity.NameHash("rnstransport", "path", "request")
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	now := opts.Clock.Now()
	t := &Transport{
		opts: opts, id: opts.Identity, tid: opts.Identity.Hash(), log: opts.Logger,
		clock: opts.Clock, rand: opts.Rand, ic: opts.Ingress.withDefaults(), rate: rate,
		ifs:             map[iface.Interface]*ifState{},
		dests:           map[wire.Hash]*Destination{},
		paths:           map[wire.Hash]*pathEntry{},
		announces:       map[wire.Hash]*announceEntry{},
		heldAnnounces:   map[wire.Hash]*announceEntry{},
		reverse:         map[wire.Hash]*reverseEntry{},
		linkTable:       map[wire.Hash]*linkEntry{},
		rates:           map[wire.Hash]*rateEntry{},
		known:           map[wire.Hash]*knownDest{},
		pathRequests:    map[wire.Hash]time.Time{},
		discoveryPRs:    map[wire.Hash]*discoveryPR{},
		prTags:          newTagSet(maxPRTags),
		hashes:          newHashlist(opts.HashlistSize),
		receipts:        map[wire.Hash]*Receipt{},
		pendingLocalPRs: map[wire.Hash]*ifState{},
		prDest:          wire.DestinationHash(prName, nil),
		lastAnnounces:   now, lastReceipts: now, lastCull: now, lastIfJobs: now,
	}
	return t, nil
}

// ID returns the transport id (the transport identity hash).
func (t *Transport) ID() wire.Hash { return t.tid }

// Identity returns the transport identity.
func (t *Transport) Identity() *identity.Identity { return t.id }

// IsTransport reports whether forwarding is enabled.
func (t *Transport) IsTransport() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opts.Transport
}

// SetTransport turns forwarding (Options.Transport) on or off at once. Announce rate limits follow it
// as New sets them: on for a transport node unless the options turned them off.
func (t *Transport) SetTransport(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.Transport = on
	t.rate.Disabled = !on || t.opts.AnnounceRate.Disabled
}

// Start runs the periodic jobs (announce retransmission, receipt timeouts,
// table culling, release of held announces) every 250 ms until Close or ctx
// ends.
func (t *Transport) Start(ctx context.Context) error {
	t.runMu.Lock()
	defer t.runMu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.started {
		return errors.New("transport: already started")
	}
	t.started = true
	ctx, t.cancel = context.WithCancel(ctx)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tk := time.NewTicker(jobInterval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				t.RunJobs()
			}
		}
	}()
	return nil
}

// Close stops the job loop and fails all outstanding receipts. Interfaces
// are owned by the caller and are not closed.
func (t *Transport) Close() error {
	t.runMu.Lock()
	if t.closed {
		t.runMu.Unlock()
		return nil
	}
	t.closed = true
	cancel := t.cancel
	t.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
	t.wg.Wait()
	t.mu.Lock()
	var fx effects
	for _, r := range t.receiptOrder {
		r.conclude(ReceiptCulled, t.clock.Now(), &fx)
	}
	t.receipts, t.receiptOrder = map[wire.Hash]*Receipt{}, nil
	t.mu.Unlock()
	fx.run()
	return nil
}

// Attach implements iface.Handler: the interface joins the set used for
// sending and receiving.
func (t *Transport) Attach(i iface.Interface) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.ifs[i]; ok {
		return
	}
	st := newIfState(i, t.clock.Now())
	if t.opts.IFAC != nil {
		st.ifac = t.opts.IFAC(i)
		if st.ifac == nil && i.Parent() != nil {
			st.ifac = t.opts.IFAC(i.Parent())
		}
		if st.ifac != nil {
			t.ifacs.Store(i, st.ifac)
		}
	}
	t.markShared(st)
	t.ifs[i] = st
	t.order = append(t.order, st)
	t.installPendingPaths(st)
	t.log.Debug("interface attached", "interface", i.Name())
}

// Detach implements iface.Handler: paths and reverse entries through the
// interface are dropped.
func (t *Transport) Detach(i iface.Interface) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.ifs[i]
	if !ok {
		return
	}
	delete(t.ifs, i)
	t.ifacs.Delete(i)
	t.unmarkShared(st)
	for k, s := range t.order {
		if s == st {
			t.order = append(t.order[:k], t.order[k+1:]...)
			break
		}
	}
	for h, p := range t.paths {
		if p.st == st {
			delete(t.paths, h)
		}
	}
	for h, r := range t.reverse {
		if r.rcvd == st || r.out == st {
			delete(t.reverse, h)
		}
	}
	for id, le := range t.linkTable {
		if le.nhIf == st || le.rcvdIf == st {
			delete(t.linkTable, id)
		}
	}
	for h, a := range t.announces {
		if a.attached == st {
			delete(t.announces, h)
		}
	}
	t.log.Debug("interface detached", "interface", i.Name())
}

// InterfaceCounters are the transport's per-interface counters.
type InterfaceCounters struct {
	Name                      string
	AnnouncesIn, AnnouncesOut uint64
	PathRequestsIn            uint64
	Violations, FilterHits    uint64
	Held, HeldTotal, Released uint64
	AnnounceQueue             int
	BurstActive               bool
}

// InterfaceCounters returns the counters of every attached interface.
func (t *Transport) InterfaceCounters() []InterfaceCounters {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]InterfaceCounters, 0, len(t.order))
	for _, s := range t.order {
		out = append(out, InterfaceCounters{
			Name: s.i.Name(), AnnouncesIn: s.announcesIn, AnnouncesOut: s.announcesOut,
			PathRequestsIn: s.pathRequestsIn, Violations: s.violations, FilterHits: s.filterHits,
			Held: uint64(len(s.held)), HeldTotal: s.heldTotal, Released: s.releasedTotal,
			AnnounceQueue: len(s.announceQueue), BurstActive: s.burstActive,
		})
	}
	return out
}

// Counters returns a snapshot of the transport-wide totals.
func (t *Transport) Counters() Counters {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// effects collects callbacks to run after the lock is released, so upward
// handlers never run under the transport lock.
type effects []func()

func (e *effects) add(f func()) { *e = append(*e, f) }

func (e effects) run() {
	for _, f := range e {
		f()
	}
}
