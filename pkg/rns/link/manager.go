package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Sentinel errors.
var (
	// ErrNoTransport means Options.Transport is nil.
	ErrNoTransport = errors.New("transport required")
	// ErrClosed means the manager or link is closed.
	ErrClosed = errors.New("link closed")
	// ErrNotActive means the link is not (yet) established.
	ErrNotActive = errors.New("link not active")
	// ErrTimeout means a link, request or resource timed out.
	ErrTimeout = errors.New("timed out")
	// ErrTooLarge means data does not fit one link packet, or an inbound
	// resource or response exceeds its size cap.
	ErrTooLarge = errors.New("too large")
	// ErrRejected means the peer refused a resource.
	ErrRejected = errors.New("rejected by peer")
	// ErrCancelled means a resource transfer was cancelled.
	ErrCancelled = errors.New("cancelled")
	// ErrCorrupt means a received resource failed its hash check.
	ErrCorrupt = errors.New("resource corrupt")
	// ErrAdvertisement means a resource advertisement was malformed.
	ErrAdvertisement = errors.New("invalid resource advertisement")
	// ErrEmpty means a resource without data was requested.
	ErrEmpty = errors.New("empty resource")
	// ErrRequest means a request or response was malformed.
	ErrRequest = errors.New("invalid request")
	// ErrTooManyLinks means Options.MaxLinks links are already held.
	ErrTooManyLinks = errors.New("too many links")
	// ErrAlreadyListening means the destination already accepts links.
	ErrAlreadyListening = errors.New("destination already accepts links")
	// ErrNotListening means the destination does not accept links.
	ErrNotListening = errors.New("destination does not accept links")
)

// DefaultMaxResourceSize is the default cap on an inbound resource's data
// size (Options.MaxResourceSize).
const DefaultMaxResourceSize = 16 << 20

// Options configure a Manager.
type Options struct {
	// Transport carries the link packets. Required.
	Transport *transport.Transport
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock transport.Clock
	// JobInterval is how often Start's loop runs RunJobs (default 100 ms).
	JobInterval time.Duration
	// MaxResourceSize caps the data size of any inbound resource, in bytes
	// (default DefaultMaxResourceSize). Larger advertisements are refused
	// before anything is allocated.
	MaxResourceSize int64
	// MaxLinks caps the links held at once, pending ones included; link
	// requests beyond it are ignored (default DefaultMaxLinks).
	MaxLinks int
}

// DefaultMaxLinks is the default of Options.MaxLinks.
const DefaultMaxLinks = 4096

// maxIncomingPerLink bounds concurrent inbound resources on one link.
const maxIncomingPerLink = 8

// Manager owns the links of one transport. It implements
// transport.LinkHandler.
type Manager struct {
	opts        Options
	maxResource atomic.Int64 // Options.MaxResourceSize, changed by SetMaxResourceSize
	tr          *transport.Transport
	log         *slog.Logger
	clock       transport.Clock
	drops       transport.DropCounter

	mu        sync.Mutex
	links     map[wire.Hash]*Link
	listeners map[wire.Hash]*listener

	runMu   sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
}

var _ transport.LinkHandler = (*Manager)(nil)

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New builds a manager. Start attaches it to the transport.
func New(opts Options) (*Manager, error) {
	if opts.Transport == nil {
		return nil, ErrNoTransport
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.JobInterval <= 0 {
		opts.JobInterval = 100 * time.Millisecond
	}
	if opts.MaxResourceSize <= 0 {
		opts.MaxResourceSize = DefaultMaxResourceSize
	}
	if opts.MaxLinks <= 0 {
		opts.MaxLinks = DefaultMaxLinks
	}
	m := &Manager{
		opts: opts, tr: opts.Transport, log: opts.Logger, clock: opts.Clock,
		links: map[wire.Hash]*Link{}, listeners: map[wire.Hash]*listener{},
	}
	m.maxResource.Store(opts.MaxResourceSize)
	return m, nil
}

// SetMaxResourceSize changes Options.MaxResourceSize at once, for advertisements from now on (n <= 0 is
// ignored).
func (m *Manager) SetMaxResourceSize(n int64) {
	if n > 0 {
		m.maxResource.Store(n)
	}
}

// MaxResourceSize is the cap in force on an inbound resource's data size.
func (m *Manager) MaxResourceSize() int64 { return m.maxResource.Load() }

// Start installs the manager as the transport's link handler and runs the
// timeout jobs every JobInterval until Close or ctx ends.
func (m *Manager) Start(ctx context.Context) error {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.started {
		return errors.New("link manager already started")
	}
	m.started = true
	m.tr.SetLinkHandler(m)
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tk := time.NewTicker(m.opts.JobInterval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				m.RunJobs()
			}
		}
	}()
	return nil
}

// Close detaches from the transport, stops the job loop and tears down
// every link (sending LINKCLOSE on active ones).
func (m *Manager) Close() error {
	m.runMu.Lock()
	if m.closed {
		m.runMu.Unlock()
		return nil
	}
	m.closed = true
	cancel := m.cancel
	started := m.started
	m.runMu.Unlock()
	if started {
		m.tr.SetLinkHandler(nil)
	}
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
	for _, l := range m.Links() {
		_ = l.Close()
	}
	return nil
}

// Links returns the links currently known (pending, active or stale).
func (m *Manager) Links() []*Link {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Link, 0, len(m.links))
	for _, l := range m.links {
		out = append(out, l)
	}
	return out
}

// Link returns the link with the given id.
func (m *Manager) Link(id wire.Hash) (*Link, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[id]
	return l, ok
}

// RunJobs runs link and resource timeouts once at the clock's current
// time: establishment timeouts, keepalives, stale detection and teardown,
// request timeouts and resource retries.
func (m *Manager) RunJobs() {
	now := m.clock.Now()
	for _, l := range m.Links() {
		l.jobs(now)
	}
}

func (m *Manager) register(l *Link) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.links) >= m.opts.MaxLinks {
		return ErrTooManyLinks
	}
	m.links[l.id] = l
	return nil
}

func (m *Manager) remove(l *Link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links[l.id] == l {
		delete(m.links, l.id)
	}
}

// HandleLinkPacket implements transport.LinkHandler. It never panics on
// bad input; unknown or malformed packets are dropped.
func (m *Manager) HandleLinkPacket(p *wire.Packet, hash wire.FullHash, from transport.Interface) {
	m.mu.Lock()
	if p.PacketType == wire.LinkRequest {
		ln := m.listeners[p.DestinationHash]
		m.mu.Unlock()
		if ln != nil {
			if err := m.accept(ln, p, from); err != nil {
				m.log.Debug("link request refused", "destination", p.DestinationHash.String(), "error", err)
			}
		}
		return
	}
	l := m.links[p.DestinationHash]
	m.mu.Unlock()
	if l == nil {
		return
	}
	if p.PacketType == wire.Proof && p.Context == wire.ContextLRProof {
		l.validateProof(p, from)
		return
	}
	l.receive(p, hash, from)
}

// send transmits a packet of an established link on its interface.
func (m *Manager) send(p *wire.Packet, via transport.Interface) error {
	if via == nil {
		if err := m.tr.Outbound(p, nil); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		return nil
	}
	return m.tr.SendLink(p, via)
}

// effects collects callbacks to run after locks are released.
type effects []func()

func (e *effects) add(f func()) { *e = append(*e, f) }

func (e effects) run() {
	for _, f := range e {
		f()
	}
}
