package iface

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// TCPClient is an outgoing TCP interface that reconnects with exponential
// backoff, like the reference's TCPClientInterface (which retries every
// RECONNECT_WAIT seconds).
type TCPClient struct {
	name, addr string
	opts       Options
	ctr        counters
	// dial connects; tests replace it to hold a dial open without leaving loopback.
	dial func(ctx context.Context, addr string) (net.Conn, error)

	mu      sync.Mutex
	sess    *session
	cancel  context.CancelFunc
	started bool
	closed  bool
	wg      sync.WaitGroup
}

var _ Interface = (*TCPClient)(nil)

// NewTCPClient returns a client for addr (host:port). It does not connect
// until Start.
func NewTCPClient(name, addr string, opts Options) (*TCPClient, error) {
	o, err := opts.tcpDefaults()
	if err != nil {
		return nil, fmt.Errorf("tcp client %s: %w", name, err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("tcp client %s: %w", name, err)
	}
	d := net.Dialer{Timeout: o.DialTimeout}
	dial := func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	return &TCPClient{name: name, addr: addr, opts: o, dial: dial}, nil
}

// Name implements Interface.
func (c *TCPClient) Name() string { return c.name }

// MTU implements Interface.
func (c *TCPClient) MTU() int { return c.opts.MTU }

// Bitrate implements Interface.
func (c *TCPClient) Bitrate() int { return tcpBitrate }

// Parent implements Interface; clients have none.
func (c *TCPClient) Parent() Interface { return nil }

// State implements Interface.
func (c *TCPClient) State() State { return State(c.ctr.state.Load()) }

// Stats implements Interface.
func (c *TCPClient) Stats() Stats { return c.ctr.snapshot(c.name, string(KindTCPClient)) }

// Start attaches the client to the handler and begins connecting in the
// background.
func (c *TCPClient) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.started {
		c.mu.Unlock()
		return errors.New("tcp client: already started")
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.ctr.setState(StateConnecting, time.Now())
	c.wg.Add(1)
	c.mu.Unlock()
	// Attach outside c.mu: the handler may call Send, which takes c.mu.
	c.opts.Handler.Attach(c)
	go func() {
		defer c.wg.Done()
		c.loop(ctx)
	}()
	return nil
}

// Close stops reconnecting, closes the connection and waits for all
// goroutines; it detaches the client from the handler.
func (c *TCPClient) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cancel, started := c.cancel, c.started
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	c.ctr.setState(StateDown, time.Now())
	if started {
		c.opts.Handler.Detach(c)
	}
	return nil
}

// Send implements Interface.
func (c *TCPClient) Send(frame []byte) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		c.ctr.txDrops.Add(1)
		return ErrNotConnected
	}
	return s.send(frame)
}

func (c *TCPClient) loop(ctx context.Context) {
	backoff := c.opts.MinBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.ctr.reconnects.Add(1)
		}
		c.ctr.setState(StateConnecting, time.Now())
		conn, err := c.dial(ctx, c.addr)
		if err == nil {
			backoff = c.opts.MinBackoff
			s := newSession(conn, &c.opts, c, &c.ctr)
			c.mu.Lock()
			c.sess = s
			c.mu.Unlock()
			c.ctr.setError(nil)
			c.ctr.setState(StateUp, time.Now())
			c.opts.Logger.Info("tcp client connected", "interface", c.name, "address", c.addr)
			err = s.run(ctx)
			c.mu.Lock()
			c.sess = nil
			c.mu.Unlock()
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("connection closed by the other side")
		}
		c.ctr.setError(err)
		c.opts.Logger.Warn("tcp client disconnected, retrying", "interface", c.name, "address", c.addr, "error", err, "retry_in", backoff)
		c.ctr.setState(StateConnecting, time.Now())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
	}
}
