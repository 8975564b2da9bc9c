package iface

import (
	"context"
	"net"
	"sync"
	"time"
)

// peer is the sub-interface of one accepted connection: a client of a TCP server, or a local program
// attached to a serving shared instance. Both are HDLC sessions owned by their server.
type peer struct {
	parent  Interface
	name    string
	kind    string // reported in Stats
	mtu     int
	bitrate int
	local   bool // a local program on a shared instance (see IsLocalClient)
	sess    *session
	ctr     counters
}

var _ Interface = (*peer)(nil)

func (p *peer) Name() string                    { return p.name }
func (p *peer) MTU() int                        { return p.mtu }
func (p *peer) Bitrate() int                    { return p.bitrate }
func (p *peer) Parent() Interface               { return p.parent }
func (p *peer) State() State                    { return State(p.ctr.state.Load()) }
func (p *peer) Stats() Stats                    { return p.ctr.snapshot(p.name, p.kind) }
func (p *peer) Start(ctx context.Context) error { return nil }
func (p *peer) Send(frame []byte) error         { return p.sess.send(frame) }

// Close ends the connection; the server detaches the peer.
func (p *peer) Close() error {
	p.sess.stop()
	return nil
}

// peerSet is the accepted connections of one server.
type peerSet struct {
	mu    *sync.Mutex // the server's mutex, which also guards m
	m     map[*peer]struct{}
	wg    *sync.WaitGroup
	opts  *Options
	total *counters // the server's counters, summing all peers
}

// full reports whether another peer would exceed MaxClients.
func (ps peerSet) full() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.m) >= ps.opts.MaxClients
}

// serve wraps conn in p's session, attaches p to the handler, lists it, and runs the session on its own
// goroutine until the connection ends; then it unlists and detaches p. The peer is listed only after it
// is attached, so a peer counted in Stats can already be sent to.
func (ps peerSet) serve(ctx context.Context, conn net.Conn, p *peer, attached, gone string) {
	p.sess = newSession(conn, ps.opts, p, &p.ctr, ps.total)
	p.ctr.setState(StateUp, time.Now())
	ps.opts.Logger.Info(attached, "interface", p.name)
	ps.opts.Handler.Attach(p)
	ps.mu.Lock()
	ps.m[p] = struct{}{}
	ps.mu.Unlock()
	ps.wg.Add(1)
	go func() {
		defer ps.wg.Done()
		err := p.sess.run(ctx)
		p.ctr.setState(StateDown, time.Now())
		ps.mu.Lock()
		delete(ps.m, p)
		ps.mu.Unlock()
		ps.opts.Handler.Detach(p)
		ps.opts.Logger.Info(gone, "interface", p.name, "error", err)
	}()
}

// list returns the peers as interfaces.
func (ps peerSet) list() []Interface {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]Interface, 0, len(ps.m))
	for p := range ps.m {
		out = append(out, p)
	}
	return out
}

// count is the number of listed peers.
func (ps peerSet) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.m)
}
