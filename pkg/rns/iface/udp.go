package iface

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// UDPHardwareMTU is the reference UDPInterface's HW_MTU.
const UDPHardwareMTU = 1064

// udpBitrate is the reference UDPInterface.BITRATE_GUESS (10 Mbit/s).
const udpBitrate = 10_000_000

// UDP is a datagram interface like the reference's UDPInterface
// (RNS/Interfaces/UDPInterface.py): one frame per datagram, no framing,
// received on a listen address and sent to a forward address, which may be a
// broadcast address (SO_BROADCAST is set on the sending socket).
type UDP struct {
	name, listen, forward string
	opts                  Options
	ctr                   counters

	mu      sync.Mutex
	rx, tx  net.PacketConn
	dst     *net.UDPAddr
	cancel  context.CancelFunc
	started bool
	closed  bool
	wg      sync.WaitGroup
}

var _ Interface = (*UDP)(nil)

// NewUDP returns a UDP interface that listens on listen (host:port, port 0
// picks a free port) and sends to forward (host:port). Either may be empty,
// but not both. The MTU defaults to UDPHardwareMTU.
func NewUDP(name, listen, forward string, opts Options) (*UDP, error) {
	mtu := opts.MTU
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("udp %s: %w", name, err)
	}
	if mtu <= 0 {
		o.MTU = UDPHardwareMTU
	}
	if listen == "" && forward == "" {
		return nil, fmt.Errorf("udp %s: listen or forward address required", name)
	}
	for _, a := range []string{listen, forward} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("udp %s: %w", name, err)
		}
	}
	return &UDP{name: name, listen: listen, forward: forward, opts: o}, nil
}

// Name implements Interface.
func (u *UDP) Name() string { return u.name }

// MTU implements Interface.
func (u *UDP) MTU() int { return u.opts.MTU }

// Bitrate implements Interface.
func (u *UDP) Bitrate() int { return udpBitrate }

// Parent implements Interface; UDP interfaces have none.
func (u *UDP) Parent() Interface { return nil }

// State implements Interface: up once started.
func (u *UDP) State() State { return State(u.ctr.state.Load()) }

// Stats implements Interface.
func (u *UDP) Stats() Stats { return u.ctr.snapshot(u.name, string(KindUDP)) }

// LocalAddr returns the bound listen address once started, or nil.
func (u *UDP) LocalAddr() net.Addr {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.rx == nil {
		return nil
	}
	return u.rx.LocalAddr()
}

// Start binds the sockets and attaches the interface to the handler.
func (u *UDP) Start(ctx context.Context) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return ErrClosed
	}
	if u.started {
		u.mu.Unlock()
		return errors.New("udp: already started")
	}
	if err := u.open(ctx); err != nil {
		u.mu.Unlock()
		return err
	}
	u.started = true
	ctx, u.cancel = context.WithCancel(ctx)
	rx := u.rx
	u.ctr.setState(StateUp, time.Now())
	u.mu.Unlock()
	u.opts.Handler.Attach(u)
	if rx != nil {
		u.opts.Logger.Info("udp interface listening", "interface", u.name, "address", rx.LocalAddr().String(), "forward", u.forward)
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			u.readLoop(ctx, rx)
		}()
	}
	return nil
}

// open binds the listen socket and the sending socket; called with u.mu held.
func (u *UDP) open(ctx context.Context) error {
	lc := net.ListenConfig{Control: setBroadcast}
	if u.forward != "" {
		dst, err := net.ResolveUDPAddr("udp", u.forward)
		if err != nil {
			return fmt.Errorf("udp %s: forward address: %w", u.name, err)
		}
		network := "udp4"
		if dst.IP.To4() == nil {
			network = "udp6"
		}
		tx, err := lc.ListenPacket(ctx, network, "")
		if err != nil {
			return fmt.Errorf("udp %s: sending socket: %w", u.name, err)
		}
		u.tx, u.dst = tx, dst
	}
	if u.listen != "" {
		rx, err := lc.ListenPacket(ctx, "udp", u.listen)
		if err != nil {
			if u.tx != nil {
				_ = u.tx.Close()
				u.tx = nil
			}
			return fmt.Errorf("udp %s: listen: %w", u.name, err)
		}
		u.rx = rx
	}
	return nil
}

// Close stops receiving, closes the sockets and detaches the interface.
func (u *UDP) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	cancel, started, rx, tx := u.cancel, u.started, u.rx, u.tx
	u.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if rx != nil {
		_ = rx.Close()
	}
	if tx != nil {
		_ = tx.Close()
	}
	u.wg.Wait()
	u.ctr.setState(StateDown, time.Now())
	if started {
		u.opts.Handler.Detach(u)
	}
	return nil
}

// Send transmits one frame as one datagram to the forward address.
func (u *UDP) Send(frame []byte) error {
	if len(frame) > u.opts.MTU {
		return ErrFrameTooLarge
	}
	u.mu.Lock()
	tx, dst, closed := u.tx, u.dst, u.closed
	u.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if tx == nil {
		u.ctr.txDrops.Add(1)
		return ErrNotConnected
	}
	if _, err := tx.WriteTo(frame, dst); err != nil {
		u.ctr.txDrops.Add(1)
		return fmt.Errorf("udp %s: send: %w", u.name, err)
	}
	u.ctr.bytesOut.Add(uint64(len(frame)))
	u.ctr.packetsOut.Add(1)
	return nil
}

func (u *UDP) readLoop(ctx context.Context, rx net.PacketConn) {
	stop := context.AfterFunc(ctx, func() { _ = rx.Close() })
	defer stop()
	buf := make([]byte, 65536)
	for {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			u.opts.Logger.Debug("udp read failed", "interface", u.name, "error", err)
			continue
		}
		if n <= 0 {
			continue
		}
		u.ctr.bytesIn.Add(uint64(n))
		if n > u.opts.MTU {
			u.ctr.malformed.Add(1)
			continue
		}
		u.ctr.packetsIn.Add(1)
		frame := make([]byte, n)
		copy(frame, buf[:n])
		u.opts.Handler.Inbound(u, frame)
	}
}
