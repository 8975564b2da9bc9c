package propnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// SyncState is where a sync is (LXMRouter.PR_* states, named).
type SyncState string

// Sync states: idle -> path_requested -> linking -> requesting ->
// receiving -> done, or failed (with a reason) from any of them.
const (
	SyncIdle          SyncState = "idle"
	SyncPathRequested SyncState = "path_requested"
	SyncLinking       SyncState = "linking"
	SyncRequesting    SyncState = "requesting"
	SyncReceiving     SyncState = "receiving"
	SyncDone          SyncState = "done"
	SyncFailed        SyncState = "failed"
)

var (
	// ErrSyncRunning means a sync is already running.
	ErrSyncRunning = errors.New("a propagation sync is already running")
	// ErrNoPath means no path to the node was found in time.
	ErrNoPath = errors.New("no path to the propagation node")
	// ErrLinkFailed means the link to the node did not come up or broke.
	ErrLinkFailed = errors.New("link to the propagation node failed")
	// ErrNoAccess means the node refused the request.
	ErrNoAccess = errors.New("propagation node refused access")
	// ErrCancelled means the sync was cancelled.
	ErrCancelled = errors.New("sync cancelled")
)

// SyncStatus is a snapshot of the client's sync.
type SyncStatus struct {
	State      SyncState `json:"state"`
	Node       string    `json:"node,omitempty"`
	Progress   float64   `json:"progress"`  // 0..1
	Received   int       `json:"received"`  // messages stored by this sync
	Failed     int       `json:"failed"`    // messages downloaded but refused
	Remaining  int       `json:"remaining"` // messages left on the node beyond this sync's bound
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// WaitClock is a clock that can also wait; tests inject a fake one.
type WaitClock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Conn is a link to a node as the client uses it.
type Conn interface {
	Established() <-chan struct{}
	Done() <-chan struct{}
	Identify(id *identity.Identity) error
	Request(ctx context.Context, path string, data msgpack.Value, maxResponse int64) (msgpack.Value, error)
	Close() error
}

// Network is what a sync needs from the mesh; LinkNetwork implements it.
type Network interface {
	HasPath(node wire.Hash) bool
	RequestPath(node wire.Hash) error
	Open(node wire.Hash) (Conn, error)
}

// Receiver stores downloaded messages (the router's DeliverPropagated).
type Receiver interface {
	DeliverPropagated(lxmfData []byte) error
}

// ClientOptions configure a Client. Zero values take the defaults.
type ClientOptions struct {
	// Identity identifies the client to the node: the node serves the
	// messages for this identity's delivery destination. Required.
	Identity *identity.Identity
	// PathTimeout bounds the wait for a path (default 15 s), LinkTimeout
	// the wait for the link (default 20 s), SyncTimeout the whole sync
	// (default 5 min).
	PathTimeout, LinkTimeout, SyncTimeout time.Duration
	// MaxMessages bounds the messages one sync downloads (default 64).
	MaxMessages int
	// MaxBytes bounds the bytes one sync downloads (default 1 MB, the
	// reference's delivery limit); it is sent to the node as the transfer
	// limit.
	MaxBytes int64
	// PollInterval is how often the path table is checked (default 100 ms).
	PollInterval time.Duration
	// OnChange, if set, gets every status change (for UI events); it must
	// not block.
	OnChange func(SyncStatus)
	Logger   *slog.Logger
	Clock    WaitClock
}

// Client syncs waiting messages from a propagation node.
type Client struct {
	opts ClientOptions
	log  *slog.Logger
	net  Network
	recv Receiver

	mu      sync.Mutex
	status  SyncStatus
	running bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
}

// NewClient builds a sync client.
func NewClient(opts ClientOptions, net Network, recv Receiver) (*Client, error) {
	if opts.Identity == nil || !opts.Identity.HasPrivateKey() {
		return nil, errors.New("new propagation client: identity with private key required")
	}
	if net == nil || recv == nil {
		return nil, errors.New("new propagation client: network and receiver are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.PathTimeout, 15*time.Second)
	def(&opts.LinkTimeout, 20*time.Second)
	def(&opts.SyncTimeout, 5*time.Minute)
	def(&opts.PollInterval, 100*time.Millisecond)
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 64
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1_000_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	return &Client{opts: opts, log: opts.Logger, net: net, recv: recv, status: SyncStatus{State: SyncIdle}}, nil
}

// Status returns the current or last sync's status.
func (c *Client) Status() SyncStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Client) set(f func(*SyncStatus)) {
	c.mu.Lock()
	f(&c.status)
	st := c.status
	c.mu.Unlock()
	c.changed(st)
}

func (c *Client) changed(st SyncStatus) {
	if c.opts.OnChange != nil {
		c.opts.OnChange(st)
	}
}

// Start begins a sync from node in the background and returns at once;
// watch Status. It returns ErrSyncRunning while one runs.
func (c *Client) Start(ctx context.Context, node wire.Hash) error {
	ctx, err := c.begin(ctx, node)
	if err != nil {
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.run(ctx, node)
	}()
	return nil
}

// Sync syncs from node and returns when it is done or failed.
func (c *Client) Sync(ctx context.Context, node wire.Hash) (SyncStatus, error) {
	ctx, err := c.begin(ctx, node)
	if err != nil {
		return c.Status(), err
	}
	err = c.run(ctx, node)
	return c.Status(), err
}

func (c *Client) begin(ctx context.Context, node wire.Hash) (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if c.running {
		return nil, ErrSyncRunning
	}
	c.running = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.status = SyncStatus{State: SyncIdle, Node: node.String(), StartedAt: c.opts.Clock.Now()}
	return ctx, nil
}

// Cancel stops a running sync; it ends failed with ErrCancelled.
func (c *Client) Cancel() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Close cancels a running sync and waits for it.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.Cancel()
	c.wg.Wait()
	return nil
}

// run is one sync (request_messages_from_propagation_node,
// message_list_response, message_get_response).
func (c *Client) run(ctx context.Context, node wire.Hash) (err error) {
	var conn Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
		if ctx.Err() != nil && err != nil && !errors.Is(err, ErrCancelled) {
			err = fmt.Errorf("%w: %w", ErrCancelled, err)
		}
		now := c.opts.Clock.Now()
		c.mu.Lock()
		if err != nil {
			c.status.State, c.status.Error = SyncFailed, err.Error()
		} else {
			c.status.State, c.status.Progress = SyncDone, 1
		}
		c.status.FinishedAt = now
		c.running = false
		c.cancel = nil
		st := c.status
		c.mu.Unlock()
		c.changed(st)
		c.log.Info("propagation sync finished", "node", node.String(), "state", string(st.State), "received", st.Received, "error", st.Error)
	}()
	deadline := c.opts.Clock.Now().Add(c.opts.SyncTimeout)
	if !c.net.HasPath(node) {
		c.set(func(s *SyncStatus) { s.State = SyncPathRequested })
		if err := c.net.RequestPath(node); err != nil {
			c.log.Debug("path request for propagation node failed", "error", err)
		}
		until := minTime(deadline, c.opts.Clock.Now().Add(c.opts.PathTimeout))
		for !c.net.HasPath(node) {
			if !c.opts.Clock.Now().Before(until) {
				return ErrNoPath
			}
			select {
			case <-ctx.Done():
				return ErrCancelled
			case <-c.opts.Clock.After(c.opts.PollInterval):
			}
		}
	}
	c.set(func(s *SyncStatus) { s.State, s.Progress = SyncLinking, 0.1 })
	conn, err = c.net.Open(node)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLinkFailed, err)
	}
	select {
	case <-conn.Established():
	case <-conn.Done():
		return ErrLinkFailed
	case <-ctx.Done():
		return ErrCancelled
	case <-c.opts.Clock.After(minDur(c.opts.LinkTimeout, deadline.Sub(c.opts.Clock.Now()))):
		return fmt.Errorf("%w: not established within %s", ErrLinkFailed, c.opts.LinkTimeout)
	}
	if err := conn.Identify(c.opts.Identity); err != nil {
		return fmt.Errorf("%w: identify: %w", ErrLinkFailed, err)
	}
	c.set(func(s *SyncStatus) { s.State, s.Progress = SyncRequesting, 0.25 })
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	resp, err := conn.Request(rctx, PathGet, GetRequest{List: true}.Value(), 64*maxIDs)
	if err != nil {
		return c.requestErr(ctx, "message list", err)
	}
	if err := codeErr(resp); err != nil {
		return err
	}
	ids, err := ParseMessageList(resp)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	wants := ids[:min(len(ids), c.opts.MaxMessages)]
	c.set(func(s *SyncStatus) {
		s.State, s.Progress, s.Remaining = SyncReceiving, 0.5, len(ids)-len(wants)
	})
	req := GetRequest{Wants: wants, Haves: []wire.FullHash{}, TransferLimitKB: float64(c.opts.MaxBytes) / 1000}
	resp, err = conn.Request(rctx, PathGet, req.Value(), c.opts.MaxBytes+int64(64*len(wants))+1024)
	if err != nil {
		return c.requestErr(ctx, "message download", err)
	}
	if err := codeErr(resp); err != nil {
		return err
	}
	msgs, err := ParseMessages(resp)
	if err != nil {
		return err
	}
	haves := make([]wire.FullHash, 0, len(msgs))
	for _, m := range msgs {
		if err := c.recv.DeliverPropagated(m); err != nil {
			c.log.Info("downloaded propagated message not stored", "error", err)
			c.set(func(s *SyncStatus) { s.Failed++ })
			continue
		}
		// A stored message is confirmed to the node, which deletes it.
		haves = append(haves, wire.SHA256(m))
		c.set(func(s *SyncStatus) { s.Received++ })
	}
	c.set(func(s *SyncStatus) { s.Remaining += len(wants) - len(msgs) })
	if len(haves) > 0 {
		if _, err := conn.Request(rctx, PathGet, GetRequest{Haves: haves}.Value(), 1024); err != nil {
			// The messages are stored; the node keeps them until a later sync
			// confirms them again, and the store drops the duplicates.
			c.log.Debug("confirming synced messages failed", "error", err)
		}
	}
	return nil
}

func (c *Client) requestErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ErrCancelled
	}
	return fmt.Errorf("%s: %w", what, err)
}

// codeErr turns an integer response into its error.
func codeErr(v msgpack.Value) error {
	code, ok := ParseResponseCode(v)
	if !ok {
		if v.IsNil() {
			return fmt.Errorf("empty response: %w", ErrRequest)
		}
		return nil
	}
	switch code {
	case ErrorNoIdentity:
		return fmt.Errorf("%w: node did not receive our identity", ErrNoAccess)
	case ErrorNoAccess:
		return ErrNoAccess
	}
	return fmt.Errorf("node answered error 0x%x: %w", code, ErrRequest)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func minDur(a, b time.Duration) time.Duration {
	return max(min(a, b), 0)
}
