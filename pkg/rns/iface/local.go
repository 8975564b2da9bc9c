package iface

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// localBitrate is the reference LocalInterface bitrate (1 Gbit/s).
const localBitrate = 1_000_000_000

// LocalRole is what a shared-instance interface turned out to be.
type LocalRole int32

// Shared instance roles.
const (
	// LocalPending means the interface has not been started.
	LocalPending LocalRole = iota
	// LocalServing means this node offers the shared instance and local
	// programs attach to it (the reference's LocalServerInterface).
	LocalServing
	// LocalAttached means this node is a client of another program's
	// shared instance (the reference's LocalClientInterface).
	LocalAttached
)

// String returns "pending", "serving" or "attached".
func (r LocalRole) String() string {
	switch r {
	case LocalServing:
		return "serving"
	case LocalAttached:
		return "attached"
	default:
		return "pending"
	}
}

// SharedAddress returns the network and address of a shared instance's data
// socket: the abstract Unix socket "\0rns/NAME" the reference uses on Linux
// (Go spells it "@rns/NAME"), or 127.0.0.1:port for type tcp.
func SharedAddress(spec Spec) (network, address string) {
	if spec.SharedType == SharedTCP {
		return "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.Port))
	}
	return "unix", "@rns/" + spec.Host
}

// ControlAddress returns the network and address of a shared instance's RPC
// socket: "\0rns/NAME/rpc" or 127.0.0.1:control_port, as in the
// reference's Reticulum.__init__.
func ControlAddress(spec Spec) (network, address string) {
	if spec.SharedType == SharedTCP {
		return "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.ControlPort))
	}
	return "unix", "@rns/" + spec.Host + "/rpc"
}

// Shared is a shared-instance interface (see KindShared). In the serving
// role it accepts local programs and spawns one sub-interface per
// connection, which it attaches to the handler; in the attached role it is a
// reconnecting client of another instance and attaches itself. Frames are
// HDLC framed as on TCP.
type Shared struct {
	spec            Spec
	network, addr   string
	opts            Options
	ctr             counters
	role            int32 // LocalRole, guarded by mu
	mu              sync.Mutex
	ln              net.Listener
	children        map[*peer]struct{}
	sess            *session
	cancel          context.CancelFunc
	started, closed bool
	nextID          int
	wg              sync.WaitGroup
}

var _ Interface = (*Shared)(nil)

// NewShared returns a shared-instance interface for spec (Kind KindShared).
func NewShared(spec Spec, opts Options) (*Shared, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("shared instance %s: %w", spec.Name, err)
	}
	if spec.Kind != KindShared {
		return nil, fmt.Errorf("shared instance %s: %w: kind %q", spec.Name, ErrBadURI, spec.Kind)
	}
	network, addr := SharedAddress(spec)
	return &Shared{spec: spec, network: network, addr: addr, opts: o, children: map[*peer]struct{}{}}, nil
}

// Spec returns the parsed URI the interface was built from.
func (s *Shared) Spec() Spec { return s.spec }

// Name implements Interface.
func (s *Shared) Name() string { return s.spec.Name }

// MTU implements Interface.
func (s *Shared) MTU() int { return s.opts.MTU }

// Bitrate implements Interface.
func (s *Shared) Bitrate() int { return localBitrate }

// Parent implements Interface; none.
func (s *Shared) Parent() Interface { return nil }

// State implements Interface.
func (s *Shared) State() State { return State(s.ctr.state.Load()) }

// Role reports whether the interface serves or attached, once started.
func (s *Shared) Role() LocalRole {
	s.mu.Lock()
	defer s.mu.Unlock()
	return LocalRole(s.role)
}

// Addr returns the listening address while serving, or nil.
func (s *Shared) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Stats implements Interface; while serving the counters sum all clients.
func (s *Shared) Stats() Stats {
	st := s.ctr.snapshot(s.spec.Name, string(KindShared))
	st.Clients = s.peers().count()
	return st
}

// Clients returns the sub-interfaces of attached local programs.
func (s *Shared) Clients() []Interface { return s.peers().list() }

// peers is the set of attached local programs while serving.
func (s *Shared) peers() peerSet {
	return peerSet{mu: &s.mu, m: s.children, wg: &s.wg, opts: &s.opts, total: &s.ctr}
}

// Start takes the serving or attached role as the spec's role asks (auto:
// serve unless the address is taken, then attach) and begins I/O.
func (s *Shared) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.started {
		s.mu.Unlock()
		return errors.New("shared instance: already started")
	}
	var ln net.Listener
	if s.spec.Role != RoleClient {
		var lc net.ListenConfig
		var err error
		ln, err = lc.Listen(ctx, s.network, s.addr)
		if err != nil && (s.spec.Role == RoleServer || !errors.Is(err, syscall.EADDRINUSE)) {
			s.mu.Unlock()
			return fmt.Errorf("shared instance %s: listen %s: %w", s.spec.Name, s.addr, err)
		}
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	if ln != nil {
		s.ln, s.role = ln, int32(LocalServing)
		s.ctr.setState(StateUp, time.Now())
		s.mu.Unlock()
		s.opts.Logger.Info("shared instance serving", "interface", s.spec.Name, "address", s.addr)
		go func() {
			defer s.wg.Done()
			s.acceptLoop(ctx, ln)
		}()
		return nil
	}
	s.role = int32(LocalAttached)
	s.ctr.setState(StateConnecting, time.Now())
	s.mu.Unlock()
	s.opts.Handler.Attach(s)
	go func() {
		defer s.wg.Done()
		s.clientLoop(ctx)
	}()
	return nil
}

// Close stops listening or reconnecting, closes every connection and
// waits for all goroutines.
func (s *Shared) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, ln, role := s.cancel, s.ln, LocalRole(s.role)
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if ln != nil {
		_ = ln.Close()
	}
	s.wg.Wait()
	s.ctr.setState(StateDown, time.Now())
	if role == LocalAttached {
		s.opts.Handler.Detach(s)
	}
	return nil
}

// Send implements Interface: to the shared instance when attached, to
// every local program when serving.
func (s *Shared) Send(frame []byte) error {
	s.mu.Lock()
	sess, role := s.sess, LocalRole(s.role)
	s.mu.Unlock()
	if role == LocalServing {
		var errs []error
		for _, c := range s.Clients() {
			if err := c.Send(frame); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	if sess == nil {
		s.ctr.txDrops.Add(1)
		return ErrNotConnected
	}
	return sess.send(frame)
}

// clientLoop keeps one connection to the shared instance, reconnecting with
// backoff (the reference retries every RECONNECT_WAIT seconds).
func (s *Shared) clientLoop(ctx context.Context) {
	backoff := s.opts.MinBackoff
	d := net.Dialer{Timeout: s.opts.DialTimeout}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.ctr.reconnects.Add(1)
		}
		conn, err := d.DialContext(ctx, s.network, s.addr)
		if err == nil {
			backoff = s.opts.MinBackoff
			ss := newSession(conn, &s.opts, s, &s.ctr)
			s.mu.Lock()
			s.sess = ss
			s.mu.Unlock()
			s.ctr.setState(StateUp, time.Now())
			s.opts.Logger.Info("attached to shared instance", "interface", s.spec.Name, "address", s.addr)
			err = ss.run(ctx)
			s.mu.Lock()
			s.sess = nil
			s.mu.Unlock()
		}
		if ctx.Err() != nil {
			return
		}
		s.ctr.setState(StateConnecting, time.Now())
		s.opts.Logger.Warn("shared instance unreachable, retrying", "interface", s.spec.Name, "address", s.addr, "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

func (s *Shared) acceptLoop(ctx context.Context, ln net.Listener) {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.opts.Logger.Warn("shared instance accept failed", "interface", s.spec.Name, "error", err)
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
		id := s.nextID
		s.nextID++
		s.mu.Unlock()
		if s.peers().full() {
			s.opts.Logger.Warn("shared instance full, refusing program", "interface", s.spec.Name)
			_ = conn.Close()
			continue
		}
		p := &peer{parent: s, name: s.spec.Name + "/" + strconv.Itoa(id), kind: "shared-instance-client",
			mtu: s.opts.MTU, bitrate: localBitrate, local: true}
		s.peers().serve(ctx, conn, p, "local program attached", "local program detached")
	}
}

// IsLocalClient reports whether i carries a local program attached to this
// node's shared instance. The reference's transport treats such packets
// specially (Transport.is_local_client_interface): their hop count is not
// advanced and they are transported even when transport is disabled.
func IsLocalClient(i Interface) bool {
	p, ok := i.(*peer)
	return ok && p.local
}

// IsSharedUpstream reports whether i connects this node, as a client, to
// another program's shared instance (the reference's
// Transport.interface_to_shared_instance).
func IsSharedUpstream(i Interface) bool {
	s, ok := i.(*Shared)
	return ok && s.Role() == LocalAttached
}
