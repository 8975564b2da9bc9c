package router

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// memQueue is an in-memory Queue.
type memQueue struct {
	mu   sync.Mutex
	msgs map[wire.FullHash]*memMsg
	log  []Update
}

type memMsg struct {
	Outbound
	u Update
}

func newMemQueue() *memQueue { return &memQueue{msgs: make(map[wire.FullHash]*memMsg)} }

func (q *memQueue) add(o Outbound, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs[o.ID] = &memMsg{Outbound: o, u: Update{State: StateQueued, NextAttempt: at}}
}

func pending(s State) bool { return s == StateQueued || s == StateSending || s == StateSent }

func (q *memQueue) Due(_ context.Context, now time.Time, limit int) ([]Outbound, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Outbound
	for _, m := range q.msgs {
		if pending(m.u.State) && !m.u.NextAttempt.After(now) {
			o := m.Outbound
			o.Attempts = m.u.Attempts
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (q *memQueue) NextDue(context.Context) (time.Time, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var at time.Time
	ok := false
	for _, m := range q.msgs {
		if pending(m.u.State) && (!ok || m.u.NextAttempt.Before(at)) {
			at, ok = m.u.NextAttempt, true
		}
	}
	return at, ok, nil
}

func (q *memQueue) Update(_ context.Context, id wire.FullHash, u Update) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs[id]
	if m == nil {
		return errors.New("no such message")
	}
	m.u = u
	if u.Method != 0 {
		m.Method = u.Method
	}
	q.log = append(q.log, u)
	return nil
}

func (q *memQueue) method(id wire.FullHash) lxmf.Method {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs[id].Method
}

func (q *memQueue) state(id wire.FullHash) Update {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs[id].u
}

// memSink is an in-memory Sink de-duplicating by message id.
type memSink struct {
	mu       sync.Mutex
	fail     error
	calls    int
	stored   map[wire.FullHash]Inbound
	order    []wire.FullHash
	peers    []Peer
	received chan struct{}
}

func newMemSink() *memSink {
	return &memSink{stored: make(map[wire.FullHash]Inbound), received: make(chan struct{}, 64)}
}

func (s *memSink) Deliver(_ context.Context, in Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.stored[in.Message.ID]; !ok {
		s.stored[in.Message.ID] = in
		s.order = append(s.order, in.Message.ID)
		select {
		case s.received <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *memSink) PeerAnnounced(_ context.Context, p Peer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers = append(s.peers, p)
	return nil
}

func (s *memSink) snapshot() (calls int, stored []Inbound, peers []Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		stored = append(stored, s.stored[id])
	}
	return s.calls, stored, append([]Peer(nil), s.peers...)
}

// side is one node: transport, router, queue and sink.
type side struct {
	tr    *transport.Transport
	r     *Router
	q     *memQueue
	sink  *memSink
	id    *identity.Identity
	pipe  *testkit.Pipe
	links *link.Manager
}

// pair is two nodes joined by a pipe.
type pair struct {
	t     testing.TB
	clock *testkit.Clock
	a, b  *side
	wg    sync.WaitGroup
}

func newPair(t testing.TB, async bool, optsB Options) *pair {
	t.Helper()
	return newPairWith(t, async, false, optsB)
}

// newPairWith optionally gives both sides a link manager (direct delivery).
func newPairWith(t testing.TB, async, links bool, optsB Options) *pair {
	t.Helper()
	p := &pair{t: t, clock: testkit.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))}
	mk := func(name string, o Options) *side {
		tid, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		var clk transport.Clock = p.clock
		var rclk Clock = p.clock
		if async {
			clk, rclk = nil, nil
		}
		tr, err := transport.New(transport.Options{Identity: tid, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		lid, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		s := &side{tr: tr, q: newMemQueue(), sink: newMemSink(), id: lid}
		s.pipe = testkit.NewPipe(name, wire.MTU)
		o.Identity, o.DisplayName, o.Clock = lid, name, rclk
		if links {
			if s.links, err = link.New(link.Options{Transport: tr, Clock: clk}); err != nil {
				t.Fatal(err)
			}
			tr.SetLinkHandler(s.links)
			o.Links = s.links
			t.Cleanup(func() { _ = s.links.Close() })
		}
		if s.r, err = New(o, tr, s.q, s.sink); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.r.Close(); _ = tr.Close() })
		return s
	}
	p.a, p.b = mk("alice", Options{}), mk("bob", optsB)
	testkit.Connect(p.a.pipe, p.b.pipe)
	if async {
		p.a.pipe.DeliverAsync(&p.wg, func(f []byte) { p.b.tr.Inbound(p.b.pipe, f) })
		p.b.pipe.DeliverAsync(&p.wg, func(f []byte) { p.a.tr.Inbound(p.a.pipe, f) })
	}
	p.a.tr.Attach(p.a.pipe)
	p.b.tr.Attach(p.b.pipe)
	t.Cleanup(p.wg.Wait)
	return p
}

// pump moves frames both ways until nothing is left.
func (p *pair) pump() {
	for range 10_000 {
		fa, fb := p.a.pipe.Take(), p.b.pipe.Take()
		if len(fa) == 0 && len(fb) == 0 {
			return
		}
		for _, f := range fa {
			p.b.tr.Inbound(p.b.pipe, f)
		}
		for _, f := range fb {
			p.a.tr.Inbound(p.a.pipe, f)
		}
	}
	p.t.Fatal("pump did not settle")
}

// step advances the clock, runs both transports' jobs and routers, pumps.
func (p *pair) step(d time.Duration) {
	p.clock.Advance(d)
	for range 3 {
		for _, s := range []*side{p.a, p.b} {
			s.tr.RunJobs()
			if s.links != nil {
				s.links.RunJobs()
			}
		}
		p.pump()
		p.a.r.RunOnce(context.Background())
		p.b.r.RunOnce(context.Background())
		p.pump()
	}
}

// compose packs a message from s to dest and queues it.
func (s *side) compose(t testing.TB, dest wire.Hash, content string, at time.Time) wire.FullHash {
	t.Helper()
	return s.composeMethod(t, dest, content, at, lxmf.MethodOpportunistic)
}

func (s *side) composeMethod(t testing.TB, dest wire.Hash, content string, at time.Time, method lxmf.Method) wire.FullHash {
	t.Helper()
	m := &lxmf.Message{Destination: dest, Timestamp: lxmf.Timestamp(at), Title: []byte("t"), Content: []byte(content)}
	if err := m.Pack(s.id); err != nil {
		t.Fatal(err)
	}
	s.q.add(Outbound{ID: m.ID, Destination: dest, Packed: m.Packed, Method: method, CreatedAt: at}, at)
	s.r.Wake()
	return m.ID
}

// introduce makes each side's identity known to the other, as a stored
// peer would be.
func (p *pair) introduce() {
	p.t.Helper()
	if err := p.a.r.RememberPeer(Peer{Hash: p.b.r.Hash(), Identity: p.b.id}); err != nil {
		p.t.Fatal(err)
	}
	if err := p.b.r.RememberPeer(Peer{Hash: p.a.r.Hash(), Identity: p.a.id}); err != nil {
		p.t.Fatal(err)
	}
}

func sendNoReceipt() transport.SendOptions   { return transport.SendOptions{NoReceipt: true} }
func sendWithReceipt() transport.SendOptions { return transport.SendOptions{} }
