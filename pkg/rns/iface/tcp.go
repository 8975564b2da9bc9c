package iface

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Options are the settings shared by the TCP interfaces. Zero values take
// the defaults noted on each field.
type Options struct {
	// Handler receives frames and attach/detach events. Required.
	Handler Handler
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// DialTimeout bounds one connection attempt (default 5s, the reference's
	// INITIAL_CONNECT_TIMEOUT).
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential reconnect delay of
	// clients (defaults 1s and 60s).
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one socket write (default 10s).
	WriteTimeout time.Duration
	// QueueLen is the per-connection outbound frame queue (default 256).
	QueueLen int
	// MTU is the interface MTU (default TCPLinkMTU for TCP interfaces,
	// TCPHardwareMTU for a shared instance); frames up to 64 bytes longer
	// (an access code) are sent and accepted.
	MTU int
	// MaxClients bounds concurrent connections of a server (default 256).
	MaxClients int
}

func (o Options) withDefaults() (Options, error) {
	if o.Handler == nil {
		return o, errors.New("options: handler is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(60*time.Second, o.MinBackoff)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.MTU <= 0 {
		o.MTU = TCPHardwareMTU
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 256
	}
	return o, nil
}

// tcpBitrate is the reference's TCP BITRATE_GUESS (10 Mbit/s).
const tcpBitrate = 10_000_000

// TCPLinkMTU is the hardware MTU of the reference's TCPClientInterface
// and TCPServerInterface (whose spawned clients copy it): both set
// AUTOCONFIGURE_MTU, so Interface.optimise_mtu replaces TCPHardwareMTU by
// the value for their 10 Mbit/s bitrate guess, 16384. Links over TCP
// signal this MTU.
const TCPLinkMTU = 16384

// ifacSlack is how much longer than the MTU a frame may be: the access
// code (at most 64 bytes) is added after a packet is sized to the MTU, and
// the reference accepts HW_MTU + ifac_size.
const ifacSlack = 64

// tcpDefaults is withDefaults with the TCP interfaces' MTU (TCPLinkMTU).
func (o Options) tcpDefaults() (Options, error) {
	if o.MTU <= 0 {
		o.MTU = TCPLinkMTU
	}
	return o.withDefaults()
}

// New builds the interface a Spec describes. It does not start it.
func New(spec Spec, opts Options) (Interface, error) {
	switch spec.Kind {
	case KindTCPClient:
		return NewTCPClient(spec.Name, spec.Address(), opts)
	case KindTCPServer:
		return NewTCPServer(spec.Name, spec.Address(), opts)
	default:
		return newOther(spec, opts)
	}
}

// session runs one established TCP connection: a reader that deframes into
// the handler and a writer that drains the outbound queue.
type session struct {
	conn  net.Conn
	opts  *Options
	owner Interface
	ctr   []*counters // the owner's counters, then a parent's
	queue chan []byte
	done  chan struct{}
	once  sync.Once
}

func newSession(conn net.Conn, opts *Options, owner Interface, ctr ...*counters) *session {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 12})
	}
	return &session{conn: conn, opts: opts, owner: owner, ctr: ctr,
		queue: make(chan []byte, opts.QueueLen), done: make(chan struct{})}
}

// stop closes the connection; safe to call many times.
func (s *session) stop() {
	s.once.Do(func() {
		close(s.done)
		_ = s.conn.Close()
	})
}

// send queues a frame without blocking.
func (s *session) send(frame []byte) error {
	if len(frame) > s.opts.MTU+ifacSlack {
		return ErrFrameTooLarge
	}
	select {
	case <-s.done:
		return ErrNotConnected
	default:
	}
	select {
	case s.queue <- frame:
		return nil
	default:
		for _, c := range s.ctr {
			c.txDrops.Add(1)
		}
		return ErrQueueFull
	}
}

// run serves the connection until it fails or ctx ends; it returns the
// reason and has stopped both goroutines.
func (s *session) run(ctx context.Context) error {
	stopOnCancel := context.AfterFunc(ctx, s.stop)
	defer stopOnCancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.writeLoop()
	}()
	err := s.readLoop()
	s.stop()
	wg.Wait()
	return err
}

func (s *session) readLoop() error {
	// Counters are brought up to date before each frame is handed up, so a
	// handler that reads Stats on a frame sees the bytes and the malformed
	// frames that came before it.
	var df *Deframer
	var counted uint64
	syncMalformed := func() {
		m := df.Malformed()
		for _, c := range s.ctr {
			c.malformed.Add(m - counted)
		}
		counted = m
	}
	df = NewDeframer(s.opts.MTU+ifacSlack, MinFrameSize, func(frame []byte) {
		syncMalformed()
		for _, c := range s.ctr {
			c.packetsIn.Add(1)
		}
		s.opts.Handler.Inbound(s.owner, frame)
	})
	buf := make([]byte, 4096)
	for {
		n, err := s.conn.Read(buf)
		if n > 0 {
			for _, c := range s.ctr {
				c.bytesIn.Add(uint64(n))
			}
			_, _ = df.Write(buf[:n])
			syncMalformed()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return fmt.Errorf("read: %w", err)
		}
	}
}

func (s *session) writeLoop() {
	var out []byte
	for {
		select {
		case <-s.done:
			return
		case frame := <-s.queue:
			out = AppendFrame(out[:0], frame)
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
			if _, err := s.conn.Write(out); err != nil {
				s.opts.Logger.Debug("tcp write failed", "interface", s.owner.Name(), "error", err)
				s.stop()
				return
			}
			for _, c := range s.ctr {
				c.bytesOut.Add(uint64(len(out)))
				c.packetsOut.Add(1)
			}
			if cap(out) > 64*1024 {
				out = nil
			}
		}
	}
}
