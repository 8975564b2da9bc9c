package transport

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestAnnounceLearnsPathAndNotifies(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	d := newDest(t, a, DestinationConfig{AppData: func() []byte { return []byte("hello") }})
	var got []Announce
	b.HandleAnnounces("reticle.test", false, func(an Announce) { got = append(got, an) })
	other := 0
	b.HandleAnnounces("lxmf.delivery", false, func(Announce) { other++ })

	if err := a.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	pi, ok := b.Path(d.Hash())
	if !ok || pi.Hops != 1 || pi.NextHop != d.Hash() {
		t.Fatalf("path %+v %v", pi, ok)
	}
	if len(got) != 1 || !bytes.Equal(got[0].AppData, []byte("hello")) || got[0].Hops != 1 || got[0].Destination != d.Hash() {
		t.Fatalf("handler got %+v", got)
	}
	if other != 0 {
		t.Fatal("filtered handler was called")
	}
	id, app, ok := b.Recall(d.Hash())
	if !ok || id.Hash() != d.Identity().Hash() || string(app) != "hello" {
		t.Fatal("recall failed")
	}
	// A local node does not rebroadcast.
	n.step(10*time.Second, a, b)
	if c := b.Counters(); c.AnnouncesRebroadcast != 0 {
		t.Fatalf("local node rebroadcast: %+v", c)
	}
	// The same announce again is not news: handlers are not called twice.
	if a.Path(d.Hash()); len(got) != 1 {
		t.Fatal("duplicate")
	}
}

func TestSendDeliverAndProve(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	var rx []Delivery
	d := newDest(t, a, DestinationConfig{Proof: ProveAll, OnPacket: func(dl Delivery) { rx = append(rx, dl) }})
	if err := a.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	r, err := b.Send(d.Hash(), []byte("secret"), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.pump()
	if len(rx) != 1 || string(rx[0].Data) != "secret" || rx[0].PacketHash != r.Hash() {
		t.Fatalf("delivered %+v", rx)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("receipt not concluded")
	}
	if r.Status() != ReceiptDelivered {
		t.Fatalf("status %v", r.Status())
	}
	if r.Timeout() != 12*time.Second {
		t.Fatalf("timeout %v, want 6s + 6s per hop", r.Timeout())
	}
}

func TestReceiptTimesOut(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	d := newDest(t, a, DestinationConfig{Proof: ProveNone})
	_ = a.Announce(d, nil)
	n.pump()
	var concluded []ReceiptStatus
	r, err := b.Send(d.Hash(), []byte("x"), SendOptions{OnConclude: func(r *Receipt) { concluded = append(concluded, r.Status()) }})
	if err != nil {
		t.Fatal(err)
	}
	n.pump()
	n.step(11*time.Second, b)
	if r.Status() != ReceiptSent {
		t.Fatal("failed too early")
	}
	n.step(2*time.Second, b)
	if r.Status() != ReceiptFailed || len(concluded) != 1 || concluded[0] != ReceiptFailed {
		t.Fatalf("status %v, callbacks %v", r.Status(), concluded)
	}
}

func TestDuplicateDataDeliveredOnce(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, _ := n.connect(a, b)
	count := 0
	d := newDest(t, a, DestinationConfig{OnPacket: func(Delivery) { count++ }})
	_ = a.Announce(d, nil)
	n.pump()
	if _, err := b.Send(d.Hash(), []byte("once"), SendOptions{NoReceipt: true}); err != nil {
		t.Fatal(err)
	}
	frames := ia.peer.take()
	if len(frames) != 1 {
		t.Fatalf("%d frames", len(frames))
	}
	a.Inbound(ia, frames[0])
	a.Inbound(ia, frames[0])
	if count != 1 {
		t.Fatalf("delivered %d times", count)
	}
	if a.Counters().Duplicates != 1 {
		t.Fatalf("counters %+v", a.Counters())
	}
}

func TestMalformedFramesCounted(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	ia, _ := n.connect(a, b)
	bad := [][]byte{
		nil,
		{0x00},
		make([]byte, 18),
		append([]byte{0x80, 0}, make([]byte, 30)...),   // IFAC flag on a plain interface
		append([]byte{0x00, 200}, make([]byte, 30)...), // hops out of range
		append([]byte{0x01, 0}, make([]byte, 40)...),   // short announce
	}
	for _, f := range bad {
		a.Inbound(ia, f)
	}
	c := a.InterfaceCounters()
	if len(c) != 1 || c[0].Violations != uint64(len(bad)) {
		t.Fatalf("counters %+v", c)
	}
	if a.Counters().Malformed != uint64(len(bad)) {
		t.Fatalf("transport counters %+v", a.Counters())
	}
}

func TestForwardingThroughTransportNode(t *testing.T) {
	n := newTestNet(t)
	a, tr, b := n.node(false), n.node(true), n.node(false)
	n.connect(a, tr)
	n.connect(tr, b)
	var rx []Delivery
	d := newDest(t, a, DestinationConfig{Proof: ProveAll, OnPacket: func(dl Delivery) { rx = append(rx, dl) }})
	if err := a.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if !tr.HasPath(d.Hash()) || b.HasPath(d.Hash()) {
		t.Fatal("announce should stop at the transport node until its rebroadcast")
	}
	// Rebroadcast after the random window (0.5 * 0.5 s) at the next job run.
	n.step(time.Second, a, tr, b)
	pi, ok := b.Path(d.Hash())
	if !ok || pi.Hops != 2 || pi.NextHop != tr.ID() {
		t.Fatalf("b path %+v %v", pi, ok)
	}
	if c := tr.Counters(); c.AnnouncesRebroadcast != 1 {
		t.Fatalf("transport counters %+v", c)
	}
	r, err := b.Send(d.Hash(), []byte("via transport"), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Timeout() != 18*time.Second {
		t.Fatalf("timeout %v", r.Timeout())
	}
	n.pump()
	if len(rx) != 1 || string(rx[0].Data) != "via transport" || rx[0].Hops != 2 {
		t.Fatalf("delivered %+v", rx)
	}
	if r.Status() != ReceiptDelivered {
		t.Fatalf("receipt %v", r.Status())
	}
	if c := tr.Counters(); c.Forwarded != 2 {
		t.Fatalf("forwarded %d, want packet and proof", c.Forwarded)
	}
	// A heard its own announce rebroadcast by the transport node; the
	// announce is for a local destination and changes nothing.
	if a.HasPath(d.Hash()) {
		t.Fatal("a learned a path to its own destination")
	}
	// Second retransmission after PATHFINDER_G, then the entry completes.
	n.step(6*time.Second, a, tr, b)
	n.step(6*time.Second, a, tr, b)
	if c := tr.Counters(); c.AnnouncesRebroadcast != 2 {
		t.Fatalf("rebroadcasts %d, want 2", c.AnnouncesRebroadcast)
	}
}

func TestPathRequestAnsweredByTransportAndLocal(t *testing.T) {
	n := newTestNet(t)
	a, tr, b := n.node(false), n.node(true), n.node(false)
	n.connect(a, tr)
	n.connect(tr, b)
	d := newDest(t, a, DestinationConfig{AppData: func() []byte { return []byte("pr") }})
	_ = a.Announce(d, nil)
	n.pump()
	// Let the transport node finish rebroadcasting before b exists on the path.
	for range 3 {
		n.step(6*time.Second, tr)
	}
	b.mu.Lock()
	delete(b.paths, d.Hash())
	b.mu.Unlock()

	var prs []Announce
	b.HandleAnnounces("", true, func(an Announce) { prs = append(prs, an) })
	if err := b.RequestPath(d.Hash()); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if b.HasPath(d.Hash()) {
		t.Fatal("answered before the grace time")
	}
	n.step(time.Second, tr)
	pi, ok := b.Path(d.Hash())
	if !ok || pi.Hops != 2 || pi.NextHop != tr.ID() {
		t.Fatalf("path %+v %v", pi, ok)
	}
	if len(prs) != 1 || !prs[0].PathResponse || string(prs[0].AppData) != "pr" {
		t.Fatalf("announces %+v", prs)
	}

	// A path request for a local destination is answered by its owner at once.
	tr.mu.Lock()
	delete(tr.paths, d.Hash())
	tr.mu.Unlock()
	if err := tr.RequestPath(d.Hash()); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if pi, ok := tr.Path(d.Hash()); !ok || pi.Hops != 1 {
		t.Fatalf("transport path %+v %v", pi, ok)
	}
	if a.Counters().PathResponsesSent != 1 {
		t.Fatalf("a counters %+v", a.Counters())
	}
}

func TestIngressControlHoldsBurstsAndReleasesSlowly(t *testing.T) {
	n := newTestNet(t)
	src, dst := n.node(false), n.node(false)
	_, in := n.connect(src, dst)
	var dests []*Destination
	for range 10 {
		dests = append(dests, newDest(t, src, DestinationConfig{}))
	}
	// Ten announces for unknown destinations within 100 ms on a new
	// interface: far above 3 Hz.
	for _, d := range dests {
		_ = src.Announce(d, nil)
		n.pump()
		n.clock.Advance(10 * time.Millisecond)
	}
	learned := len(dst.Paths())
	held := dst.InterfaceCounters()[0].Held
	if uint64(learned)+held != 10 || held == 0 {
		t.Fatalf("learned %d held %d", learned, held)
	}
	if !dst.InterfaceCounters()[0].BurstActive {
		t.Fatal("burst not active")
	}
	_ = in
	// Nothing is released during the burst penalty.
	n.step(5*time.Second, dst)
	n.step(5*time.Second, dst)
	if len(dst.Paths()) != learned {
		t.Fatal("released during penalty")
	}
	// After the penalty, one announce per release interval.
	released := 0
	for range 30 {
		before := len(dst.Paths())
		n.step(5*time.Second, dst)
		if len(dst.Paths()) > before+1 {
			t.Fatal("released more than one at once")
		}
		released += len(dst.Paths()) - before
	}
	if uint64(released) != held || len(dst.Paths()) != 10 {
		t.Fatalf("released %d of %d; paths %d", released, held, len(dst.Paths()))
	}
}

func TestAnnounceRateLimitBlocksRebroadcast(t *testing.T) {
	n := newTestNet(t)
	a, tr, b := n.node(false), n.node(true, func(o *Options) {
		o.AnnounceRate = AnnounceRate{Target: time.Hour, Grace: 1}
		o.Ingress.Disabled = true
	}), n.node(false)
	n.connect(a, tr)
	n.connect(tr, b)
	d := newDest(t, a, DestinationConfig{})
	for range 6 {
		_ = a.Announce(d, nil)
		n.step(2*time.Second, tr) // new emission time each round
	}
	for range 4 {
		n.step(6*time.Second, tr)
	}
	c := tr.Counters()
	if c.AnnouncesValid != 6 {
		t.Fatalf("valid %d", c.AnnouncesValid)
	}
	// First announce and the grace allowance go through; the rest are blocked.
	if c.AnnouncesRebroadcast == 0 || c.AnnouncesRebroadcast >= 12 {
		t.Fatalf("rebroadcasts %d", c.AnnouncesRebroadcast)
	}
	blocked := tr.rates[d.Hash()].blockedUntil
	if blocked.IsZero() {
		t.Fatal("destination never blocked")
	}
	_ = wire.MTU
}

func TestIFAC(t *testing.T) {
	n := newTestNet(t)
	mk := func(pass string) func(*Options) {
		return func(o *Options) {
			o.IFAC = func(iface.Interface) *identity.IFAC {
				c, err := identity.NewIFAC("mesh", pass, identity.IFACSizeIP)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
		}
	}
	a, b, c := n.node(false, mk("right")), n.node(false, mk("right")), n.node(false, mk("wrong"))
	n.connect(a, b)
	n.connect(a, c)
	d := newDest(t, a, DestinationConfig{})
	if err := a.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if !b.HasPath(d.Hash()) {
		t.Fatal("matching access code: no path")
	}
	if c.HasPath(d.Hash()) {
		t.Fatal("wrong access code: path learned")
	}
	if v := c.InterfaceCounters()[0].Violations; v != 1 {
		t.Fatalf("violations %d", v)
	}
	// A node without IFAC drops masked frames too.
	plain := n.node(false)
	n.connect(a, plain)
	_ = a.Announce(d, nil)
	n.pump()
	if plain.HasPath(d.Hash()) || plain.InterfaceCounters()[0].Violations == 0 {
		t.Fatal("plain node accepted an IFAC frame")
	}
}

func TestAnnounceCapQueuesRebroadcasts(t *testing.T) {
	n := newTestNet(t)
	src := n.node(false)
	tr := n.node(true, func(o *Options) { o.Ingress.Disabled = true })
	dst := n.node(false)
	n.connect(src, tr)
	out, _ := n.connect(tr, dst)
	out.bitrate = 2000 // ~200 B announce = 0.8 s airtime, /2% cap = 40 s each
	for range 4 {
		d := newDest(t, src, DestinationConfig{})
		_ = src.Announce(d, nil)
	}
	n.pump()
	n.step(time.Second, tr)
	if got := len(dst.Paths()); got != 1 {
		t.Fatalf("%d announces passed the cap at once, want 1", got)
	}
	if q := tr.InterfaceCounters()[1].AnnounceQueue; q != 3 {
		t.Fatalf("queue %d, want 3", q)
	}
	// The next one may go out only after the cap wait.
	n.step(20*time.Second, tr)
	if got := len(dst.Paths()); got != 1 {
		t.Fatalf("released too early: %d paths", got)
	}
	for range 30 {
		n.step(5*time.Second, tr)
	}
	if got := len(dst.Paths()); got != 4 {
		t.Fatalf("%d paths after draining the queue", got)
	}
}

func TestRememberAllowsSendWithoutAnnounce(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	var rx []Delivery
	d := newDest(t, a, DestinationConfig{Proof: ProveAll, OnPacket: func(dl Delivery) { rx = append(rx, dl) }})
	if _, err := b.Send(d.Hash(), []byte("x"), SendOptions{}); !errors.Is(err, ErrUnknownDestination) {
		t.Fatalf("send to unknown: %v", err)
	}
	pub, _ := identity.FromPublicKey(d.Identity().PublicKey())
	if err := b.Remember(d.Hash(), pub, []byte("restored")); err != nil {
		t.Fatal(err)
	}
	other, _ := identity.Generate()
	if err := b.Remember(d.Hash(), other, nil); !errors.Is(err, ErrDuplicateDestination) {
		t.Fatalf("key change accepted: %v", err)
	}
	r, err := b.Send(d.Hash(), []byte("restored send"), SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.pump()
	if len(rx) != 1 || r.Status() != ReceiptDelivered {
		t.Fatalf("delivered %d, receipt %v", len(rx), r.Status())
	}
	if r.Timeout() != perHopTimeout*(1+wire.MaxHops) {
		t.Fatalf("timeout without path %v", r.Timeout())
	}
}

// TestIngressControlIgnoresOwnEchoes: a transport node echoes our announces back to us. Those echoes must
// not count towards our ingress burst limit, or a node that announces as its interface comes up holds its
// first peers' announces for the burst hold and penalty.
func TestIngressControlIgnoresOwnEchoes(t *testing.T) {
	n := newTestNet(t)
	peer, me := n.node(false), n.node(false)
	toMe, toPeer := n.connect(peer, me)
	own := newDest(t, me, DestinationConfig{})
	// Our own announces, sent and echoed straight back, well above the 3 Hz new-interface threshold.
	for range 6 {
		if err := me.Announce(own, nil); err != nil {
			t.Fatal(err)
		}
		for _, f := range toPeer.take() {
			me.Inbound(toPeer, f)
		}
		n.clock.Advance(20 * time.Millisecond)
	}
	// Then two announces of the peer's for destinations we do not know yet.
	for range 2 {
		d := newDest(t, peer, DestinationConfig{})
		if err := peer.Announce(d, nil); err != nil {
			t.Fatal(err)
		}
		for _, f := range toMe.take() {
			me.Inbound(toPeer, f)
		}
		n.clock.Advance(20 * time.Millisecond)
	}
	c := me.InterfaceCounters()[0]
	if c.Held != 0 || c.BurstActive || len(me.Paths()) != 2 {
		t.Fatalf("held %d burst %v paths %d; want the peer's announces learned at once", c.Held, c.BurstActive, len(me.Paths()))
	}
}

// TestSetTransportAtRuntime: a node started without forwarding does not rebroadcast an announce for
// its other interface; turned into a transport node at runtime it does, and turned back it stops.
func TestSetTransportAtRuntime(t *testing.T) {
	n := newTestNet(t)
	a, mid, b := n.node(false), n.node(false), n.node(false)
	n.connect(a, mid)
	n.connect(mid, b)
	announce := func() *Destination {
		t.Helper()
		d := newDest(t, a, DestinationConfig{})
		if err := a.Announce(d, nil); err != nil {
			t.Fatal(err)
		}
		n.pump()
		n.step(time.Second, a, mid, b)
		return d
	}
	if d := announce(); b.HasPath(d.Hash()) || mid.IsTransport() {
		t.Fatal("a node without forwarding passed an announce on")
	}
	mid.SetTransport(true)
	if d := announce(); !mid.IsTransport() || !b.HasPath(d.Hash()) {
		t.Fatal("forwarding turned on at runtime: the announce did not reach b")
	}
	mid.SetTransport(false)
	if d := announce(); b.HasPath(d.Hash()) {
		t.Fatal("forwarding turned off again: the announce still reached b")
	}
}
