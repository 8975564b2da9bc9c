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
	children map[*tcpPeer]struct{}
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
	return &TCPServer{name: name, addr: addr, opts: o, children: map[*tcpPeer]struct{}{}}, nil
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
	s.mu.Lock()
	st.Clients = len(s.children)
	s.mu.Unlock()
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
func (s *TCPServer) Clients() []Interface {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Interface, 0, len(s.children))
	for p := range s.children {
		out = append(out, p)
	}
	return out
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
		s.mu.Lock()
		full := len(s.children) >= s.opts.MaxClients
		s.mu.Unlock()
		if full {
			s.opts.Logger.Warn("tcp server full, refusing client", "interface", s.name, "remote", conn.RemoteAddr().String())
			_ = conn.Close()
			continue
		}
		p := &tcpPeer{server: s, name: s.name + "/" + conn.RemoteAddr().String()}
		p.sess = newSession(conn, &s.opts, p, &p.ctr, &s.ctr)
		p.ctr.setState(StateUp, time.Now())
		s.mu.Lock()
		s.children[p] = struct{}{}
		s.mu.Unlock()
		s.opts.Logger.Info("tcp client accepted", "interface", p.name)
		s.opts.Handler.Attach(p)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := p.sess.run(ctx)
			p.ctr.setState(StateDown, time.Now())
			s.mu.Lock()
			delete(s.children, p)
			s.mu.Unlock()
			s.opts.Handler.Detach(p)
			s.opts.Logger.Info("tcp client gone", "interface", p.name, "error", err)
		}()
	}
}

// tcpPeer is the sub-interface spawned for one accepted connection.
type tcpPeer struct {
	server *TCPServer
	name   string
	sess   *session
	ctr    counters
}

var _ Interface = (*tcpPeer)(nil)

func (p *tcpPeer) Name() string                    { return p.name }
func (p *tcpPeer) MTU() int                        { return p.server.opts.MTU }
func (p *tcpPeer) Bitrate() int                    { return tcpBitrate }
func (p *tcpPeer) Parent() Interface               { return p.server }
func (p *tcpPeer) State() State                    { return State(p.ctr.state.Load()) }
func (p *tcpPeer) Stats() Stats                    { return p.ctr.snapshot(p.name, "tcp-server-client") }
func (p *tcpPeer) Start(ctx context.Context) error { return nil }
func (p *tcpPeer) Send(frame []byte) error         { return p.sess.send(frame) }

// Close ends the connection; the server detaches the peer.
func (p *tcpPeer) Close() error {
	p.sess.stop()
	return nil
}
