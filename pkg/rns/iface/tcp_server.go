package iface

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// TCPServer listens for TCP connections and spawns one sub-interface per
// accepted connection, as the reference's TCPServerInterface does. The server
// itself is not attached to the handler; each spawned sub-interface is
// attached when accepted and detached when its connection ends.
type TCPServer struct {
	name, addr string
	opts       Options
	ctr        counters

	mu       sync.Mutex
	ln       net.Listener
	children map[*peer]struct{}
	cancel   context.CancelFunc
	started  bool
	closed   bool
	wg       sync.WaitGroup
}

var _ Interface = (*TCPServer)(nil)

// NewTCPServer returns a server that will listen on addr (host:port; port 0
// picks a free port, see Addr).
func NewTCPServer(name, addr string, opts Options) (*TCPServer, error) {
	o, err := opts.tcpDefaults()
	if err != nil {
		return nil, fmt.Errorf("tcp server %s: %w", name, err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("tcp server %s: %w", name, err)
	}
	return &TCPServer{name: name, addr: addr, opts: o, children: map[*peer]struct{}{}}, nil
}

// Name implements Interface.
func (s *TCPServer) Name() string { return s.name }

// MTU implements Interface.
func (s *TCPServer) MTU() int { return s.opts.MTU }

// Bitrate implements Interface.
func (s *TCPServer) Bitrate() int { return tcpBitrate }

// Parent implements Interface; servers have none.
func (s *TCPServer) Parent() Interface { return nil }

// State implements Interface: up while listening.
func (s *TCPServer) State() State { return State(s.ctr.state.Load()) }

// Stats implements Interface; byte and packet counters sum all clients.
func (s *TCPServer) Stats() Stats {
	st := s.ctr.snapshot(s.name, string(KindTCPServer))
	st.Clients = s.peers().count()
	return st
}

// Addr returns the listening address once started, or nil.
func (s *TCPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Clients returns the live sub-interfaces.
func (s *TCPServer) Clients() []Interface { return s.peers().list() }

// peers is the server's set of accepted connections.
func (s *TCPServer) peers() peerSet {
	return peerSet{mu: &s.mu, m: s.children, wg: &s.wg, opts: &s.opts, total: &s.ctr}
}

// Start binds the listener and begins accepting.
func (s *TCPServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("tcp server: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("tcp server %s: listen: %w", s.name, err)
	}
	s.started, s.ln = true, ln
	ctx, s.cancel = context.WithCancel(ctx)
	s.ctr.setState(StateUp, time.Now())
	s.opts.Logger.Info("tcp server listening", "interface", s.name, "address", ln.Addr().String())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(ctx, ln)
	}()
	return nil
}

// Close stops listening, closes every client connection and waits.
func (s *TCPServer) Close() error {
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
	s.ctr.setState(StateDown, time.Now())
	return nil
}

// Send sends frame to every connected client.
func (s *TCPServer) Send(frame []byte) error {
	var errs []error
	for _, c := range s.Clients() {
		if err := c.Send(frame); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *TCPServer) acceptLoop(ctx context.Context, ln net.Listener) {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.opts.Logger.Warn("tcp accept failed", "interface", s.name, "error", err)
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if s.peers().full() {
			s.opts.Logger.Warn("tcp server full, refusing client", "interface", s.name, "remote", conn.RemoteAddr().String())
			_ = conn.Close()
			continue
		}
		p := &peer{parent: s, name: s.name + "/" + conn.RemoteAddr().String(), kind: "tcp-server-client",
			mtu: s.opts.MTU, bitrate: tcpBitrate}
		s.peers().serve(ctx, conn, p, "tcp client accepted", "tcp client gone")
	}
}
