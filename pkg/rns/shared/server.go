package shared

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Options configure a Server. Network and Address usually come from
// iface.ControlAddress.
type Options struct {
	// Network is "unix" (Address "@rns/NAME/rpc", an abstract socket) or
	// "tcp" (Address "127.0.0.1:37429"). Required.
	Network, Address string
	// Key is the authkey clients must prove. Required; see DefaultKey.
	Key []byte
	// Transport answers path and timeout queries. Required.
	Transport *transport.Transport
	// Interfaces returns the node's top-level interfaces. Required.
	Interfaces func() []iface.Interface
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Timeout bounds one RPC connection (default 10s).
	Timeout time.Duration
	// MaxRequest bounds one request (default 64 KiB).
	MaxRequest int
	// MaxConns bounds concurrent RPC connections (default 32).
	MaxConns int
}

// Server answers the reference's shared-instance RPC calls.
type Server struct {
	opts  Options
	start time.Time

	mu      sync.Mutex
	ln      net.Listener
	cancel  context.CancelFunc
	started bool
	closed  bool
	wg      sync.WaitGroup
	sem     chan struct{}
}

// DefaultKey is the reference's RPC authkey: the SHA-256 of the transport
// identity's private key (Reticulum.__init__, rpc_key).
func DefaultKey(id *identity.Identity) ([]byte, error) {
	prv, err := id.PrivateKey()
	if err != nil {
		return nil, fmt.Errorf("rpc key: %w", err)
	}
	h := identity.FullHash(prv)
	return h[:], nil
}

// New validates opts. Nothing listens until Start.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Network != "unix" && opts.Network != "tcp":
		return nil, fmt.Errorf("shared rpc: network %q, want unix or tcp", opts.Network)
	case opts.Address == "":
		return nil, errors.New("shared rpc: address required")
	case len(opts.Key) == 0:
		return nil, errors.New("shared rpc: key required")
	case opts.Transport == nil || opts.Interfaces == nil:
		return nil, errors.New("shared rpc: transport and interfaces required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxRequest <= 0 {
		opts.MaxRequest = 64 * 1024
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 32
	}
	return &Server{opts: opts, sem: make(chan struct{}, opts.MaxConns)}, nil
}

// Addr returns the listening address once started, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Start binds the RPC socket and serves until Close or ctx ends.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("shared rpc: closed")
	}
	if s.started {
		return errors.New("shared rpc: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, s.opts.Network, s.opts.Address)
	if err != nil {
		return fmt.Errorf("shared rpc: listen %s: %w", s.opts.Address, err)
	}
	s.started, s.ln, s.start = true, ln, time.Now()
	ctx, s.cancel = context.WithCancel(ctx)
	s.opts.Logger.Info("shared instance rpc listening", "address", s.opts.Address)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(ctx, ln)
	}()
	return nil
}

// Close stops listening and waits for running calls.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, ln := s.cancel, s.ln
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if ln != nil {
		_ = ln.Close()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.opts.Logger.Warn("shared rpc accept failed", "error", err)
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			_ = conn.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			stopConn := context.AfterFunc(ctx, func() { _ = conn.Close() })
			defer stopConn()
			defer func() { _ = conn.Close() }() // the call is over; nothing to report
			if err := s.serve(conn); err != nil {
				s.opts.Logger.Debug("shared rpc call failed", "error", err)
			}
		}()
	}
}

// serve runs the listener side of one connection, as the reference's
// Listener.accept followed by rpc_loop's single request and response.
func (s *Server) serve(conn net.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	if err := deliverChallenge(conn, s.opts.Key); err != nil {
		return err
	}
	if err := answerChallenge(conn, s.opts.Key); err != nil {
		return err
	}
	req, err := readMsg(conn, s.opts.MaxRequest)
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	call, err := msgpack.DecodeValue(req, msgpack.Limits{})
	if err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	resp, ok := s.dispatch(call)
	if !ok {
		// The reference answers nothing to calls it does not know.
		return nil
	}
	return writeMsg(conn, resp.Encode())
}
