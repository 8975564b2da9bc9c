package testkit

import (
	"context"
	"sync"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// Pipe is one end of an in-memory wire between two transports under test. Frames sent on it queue
// until the test takes them (Take) and hands them to the other side, so delivery never happens under
// a transport lock and a test decides exactly when packets move. With DeliverAsync, each frame is
// delivered on its own goroutine instead.
type Pipe struct {
	name string
	mtu  int
	peer *Pipe

	mu      sync.Mutex
	out     [][]byte
	drop    bool
	async   func(frame []byte)
	asyncWG *sync.WaitGroup
}

var _ iface.Interface = (*Pipe)(nil)

// NewPipe returns an unconnected pipe end with the given interface name and MTU.
func NewPipe(name string, mtu int) *Pipe { return &Pipe{name: name, mtu: mtu} }

// Connect makes a and b each other's peer.
func Connect(a, b *Pipe) { a.peer, b.peer = b, a }

// Peer is the other end of the wire (nil until Connect).
func (p *Pipe) Peer() *Pipe { return p.peer }

// Name implements iface.Interface.
func (p *Pipe) Name() string { return p.name }

// Start implements iface.Interface.
func (p *Pipe) Start(context.Context) error { return nil }

// Close implements iface.Interface.
func (p *Pipe) Close() error { return nil }

// MTU implements iface.Interface.
func (p *Pipe) MTU() int { return p.mtu }

// Bitrate implements iface.Interface.
func (p *Pipe) Bitrate() int { return 0 }

// Stats implements iface.Interface.
func (p *Pipe) Stats() iface.Stats { return iface.Stats{Name: p.name} }

// Parent implements iface.Interface.
func (p *Pipe) Parent() iface.Interface { return nil }

// State implements iface.Interface: always up.
func (p *Pipe) State() iface.State { return iface.StateUp }

// SetDrop makes the pipe silently lose every frame sent while d is true.
func (p *Pipe) SetDrop(d bool) {
	p.mu.Lock()
	p.drop = d
	p.mu.Unlock()
}

// DeliverAsync makes Send hand each frame to deliver on a new goroutine counted by wg, instead of
// queueing it for Take.
func (p *Pipe) DeliverAsync(wg *sync.WaitGroup, deliver func(frame []byte)) {
	p.mu.Lock()
	p.async, p.asyncWG = deliver, wg
	p.mu.Unlock()
}

// Take returns and clears the frames sent since the last Take.
func (p *Pipe) Take() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.out
	p.out = nil
	return out
}

// Send implements iface.Interface: it copies the frame and queues it (or delivers it asynchronously).
func (p *Pipe) Send(frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drop {
		return nil
	}
	fr := append([]byte(nil), frame...)
	if p.async != nil {
		deliver := p.async
		p.asyncWG.Add(1)
		go func() {
			defer p.asyncWG.Done()
			deliver(fr)
		}()
		return nil
	}
	p.out = append(p.out, fr)
	return nil
}
