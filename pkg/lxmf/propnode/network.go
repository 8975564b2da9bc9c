package propnode

import (
	"context"
	"errors"
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

// LinkNetwork is the Network of a node: its transport and link manager.
type LinkNetwork struct {
	Transport *transport.Transport
	Links     *link.Manager
}

var _ Network = LinkNetwork{}

// HasPath reports whether the node's identity and a path are known.
func (n LinkNetwork) HasPath(node wire.Hash) bool {
	_, _, known := n.Transport.Recall(node)
	return known && n.Transport.HasPath(node)
}

// RequestPath asks the network for a path to the node.
func (n LinkNetwork) RequestPath(node wire.Hash) error { return n.Transport.RequestPath(node) }

// Open opens a link to the node.
func (n LinkNetwork) Open(node wire.Hash) (Conn, error) {
	l, err := n.Links.Open(node, link.Callbacks{})
	if err != nil {
		return nil, err
	}
	return linkConn{l}, nil
}

type linkConn struct{ l *link.Link }

func (c linkConn) Established() <-chan struct{}         { return c.l.Established() }
func (c linkConn) Done() <-chan struct{}                { return c.l.Done() }
func (c linkConn) Identify(id *identity.Identity) error { return c.l.Identify(id) }
func (c linkConn) Close() error                         { return c.l.Close() }

func (c linkConn) Request(ctx context.Context, path string, data msgpack.Value, maxResponse int64) (msgpack.Value, error) {
	rr, err := c.l.Request(path, data, link.RequestOptions{MaxResponseSize: maxResponse})
	if err != nil {
		return msgpack.Nil(), err
	}
	return rr.Wait(ctx)
}

// NodeInfo is a propagation node learned from its announce.
type NodeInfo struct {
	Hash     wire.Hash
	Identity *identity.Identity // public key only
	AppData  lxmf.PropagationNodeAppData
	Raw      []byte // the announce's app data
	Hops     uint8
	Seen     time.Time
}

// NodeSink records discovered nodes (the application's store).
type NodeSink interface {
	NodeAnnounced(ctx context.Context, n NodeInfo) error
}

// DiscoveryOptions configure a Discovery.
type DiscoveryOptions struct {
	// Queue bounds announces waiting to be recorded (default 256); more are
	// dropped and counted.
	Queue  int
	Logger *slog.Logger
	Clock  Clock
}

// Discovery records lxmf.propagation announces. It never opens links:
// discovering many nodes costs one store write per announce.
type Discovery struct {
	opts  DiscoveryOptions
	log   *slog.Logger
	sink  NodeSink
	unsub func()
	in    chan NodeInfo

	mu      sync.Mutex
	dropped uint64
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewDiscovery listens for lxmf.propagation announces on tr.
func NewDiscovery(opts DiscoveryOptions, tr *transport.Transport, sink NodeSink) (*Discovery, error) {
	if tr == nil || sink == nil {
		return nil, errors.New("new propagation discovery: transport and sink are required")
	}
	if opts.Queue <= 0 {
		opts.Queue = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	d := &Discovery{opts: opts, log: opts.Logger, sink: sink, in: make(chan NodeInfo, opts.Queue)}
	d.unsub = tr.HandleAnnounces(lxmf.AppName+".propagation", true, d.onAnnounce)
	return d, nil
}

// onAnnounce runs on an interface goroutine: parse, then hand over.
func (d *Discovery) onAnnounce(a transport.Announce) {
	ad, err := lxmf.ParsePropagationNodeAppData(a.AppData)
	if err != nil {
		d.log.Debug("propagation announce with invalid app data", "destination", a.Destination.String(), "error", err)
		return
	}
	n := NodeInfo{Hash: a.Destination, Identity: a.Identity, AppData: ad, Raw: append([]byte(nil), a.AppData...), Hops: a.Hops, Seen: d.opts.Clock.Now()}
	select {
	case d.in <- n:
	default:
		d.mu.Lock()
		d.dropped++
		d.mu.Unlock()
	}
}

// Start records announces until ctx ends or Close.
func (d *Discovery) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.started {
		return ErrStarted
	}
	d.started = true
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-d.in:
				if err := d.sink.NodeAnnounced(ctx, n); err != nil && ctx.Err() == nil {
					d.log.Warn("recording propagation node failed", "node", n.Hash.String(), "error", err)
				}
			}
		}
	}()
	return nil
}

// Dropped returns how many announces were dropped because the queue was full.
func (d *Discovery) Dropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Close stops listening and recording.
func (d *Discovery) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	d.unsub()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// PropagationHash returns the lxmf.propagation destination hash of an
// identity.
func PropagationHash(id *identity.Identity) wire.Hash {
	h, _ := identity.DestinationHash(id, lxmf.AppName, "propagation") // constant names cannot fail
	return h
}
