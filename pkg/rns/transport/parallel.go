package transport

import (
	"runtime"
	"sync"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Parallel is an iface.Handler in front of a Transport that checks the expensive frames (announce
// signatures, and every frame of an interface with an IFAC) on a pool of workers, one per core, off the
// transport lock, while each interface's frames are still processed in the order they arrived: a frame
// is applied only after every earlier frame of its interface. An announce flood on one interface thus
// uses every core, and nothing about the protocol sees a difference.
//
// Inbound queues a frame and returns; it blocks only when the interface already has laneDepth frames
// waiting, which pushes back on the sender as a slow transport would. Detach processes the frames an
// interface delivered before it went away, then detaches it.
type Parallel struct {
	t    *Transport
	work chan *slot
	wg   sync.WaitGroup // workers

	mu     sync.Mutex
	lanes  map[iface.Interface]*lane
	closed bool
}

// laneDepth bounds the frames of one interface waiting to be applied.
const laneDepth = 256

type lane struct {
	mu     sync.Mutex // held while a frame is put on order, so the lane is never closed under a sender
	closed bool
	order  chan *slot
	done   chan struct{}
}

// put queues s; false when the lane is closed.
func (l *lane) put(s *slot) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.order <- s
	return true
}

// close stops the lane after the frames already queued and waits for them.
func (l *lane) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.order)
	}
	l.mu.Unlock()
	<-l.done
}

type slot struct {
	i     iface.Interface
	raw   []byte
	d     *decoded
	err   error
	ready chan struct{} // closed when a worker has prepared the frame; nil when the lane prepares it
}

// NewParallel starts workers (0: one per core) that prepare frames for t. Close stops them.
func NewParallel(t *Transport, workers int) *Parallel {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Parallel{t: t, work: make(chan *slot, workers*laneDepth), lanes: make(map[iface.Interface]*lane)}
	p.wg.Add(workers)
	for range workers {
		go func() {
			defer p.wg.Done()
			for s := range p.work {
				s.raw, s.d, s.err = p.t.prepare(s.i, s.raw)
				close(s.ready)
			}
		}()
	}
	return p
}

// Attach implements iface.Handler.
func (p *Parallel) Attach(i iface.Interface) { p.t.Attach(i) }

// Detach implements iface.Handler: the frames i delivered before are processed first.
func (p *Parallel) Detach(i iface.Interface) {
	p.mu.Lock()
	l := p.lanes[i]
	delete(p.lanes, i)
	p.mu.Unlock()
	if l != nil {
		l.close()
	}
	p.t.Detach(i)
}

// Inbound implements iface.Handler.
func (p *Parallel) Inbound(i iface.Interface, raw []byte) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	l := p.lanes[i]
	if l == nil {
		l = &lane{order: make(chan *slot, laneDepth), done: make(chan struct{})}
		p.lanes[i] = l
		go p.apply(l)
	}
	p.mu.Unlock()
	s := &slot{i: i, raw: raw}
	if p.expensive(i, raw) {
		s.ready = make(chan struct{})
	}
	// A full lane blocks only this interface's reader, until its applier takes the next frame.
	if !l.put(s) {
		return // detached meanwhile
	}
	if s.ready != nil {
		p.work <- s
	}
}

// expensive reports whether preparing raw needs public-key work: an announce's signature, or an
// interface access code.
func (p *Parallel) expensive(i iface.Interface, raw []byte) bool {
	if _, ok := p.t.ifacs.Load(i); ok {
		return true
	}
	return len(raw) > 0 && wire.PacketType(raw[0]&3) == wire.Announce
}

// apply processes a lane's frames in arrival order until the lane is closed.
func (p *Parallel) apply(l *lane) {
	defer close(l.done)
	for s := range l.order {
		if s.ready != nil {
			<-s.ready
		} else {
			s.raw, s.d, s.err = p.t.prepare(s.i, s.raw)
		}
		p.t.commit(s.i, s.raw, s.d, s.err, false)
	}
}

// Close processes the frames already queued, then stops the workers. Frames arriving later are dropped.
func (p *Parallel) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	lanes := p.lanes
	p.lanes = map[iface.Interface]*lane{}
	p.mu.Unlock()
	for _, l := range lanes {
		l.close()
	}
	close(p.work)
	p.wg.Wait()
}

var _ iface.Handler = (*Parallel)(nil)

// prepare removes the interface access code (when i has one) and decodes the frame, checking an
// announce's signature. It takes no lock.
func (t *Transport) prepare(i iface.Interface, raw []byte) ([]byte, *decoded, error) {
	if v, ok := t.ifacs.Load(i); ok {
		var err error
		if raw, err = v.(*identity.IFAC).Remove(raw); err != nil {
			return raw, nil, err
		}
	} else if len(raw) > 0 && raw[0]&wire.FlagIFAC != 0 {
		return raw, nil, errIFACUnexpected
	}
	d, err := decode(raw, i.MTU())
	return raw, d, err
}
