package router

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestOpportunisticDelivered(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	id := p.a.compose(t, p.b.r.Hash(), "hello bob", p.clock.Now())
	p.step(0)
	u := p.a.q.state(id)
	if u.State != StateDelivered || u.Attempts != 1 {
		t.Fatalf("state %+v; want delivered after 1 attempt", u)
	}
	calls, stored, _ := p.b.sink.snapshot()
	if calls != 1 || len(stored) != 1 {
		t.Fatalf("bob sink calls %d stored %d", calls, len(stored))
	}
	in := stored[0]
	if in.Message.ID != id || string(in.Message.Content) != "hello bob" || !in.Verified || in.Method != lxmf.MethodOpportunistic {
		t.Fatalf("bob got %+v (verified %v)", in.Message, in.Verified)
	}
	if in.Message.Source != p.a.r.Hash() {
		t.Fatalf("source %s, want %s", in.Message.Source, p.a.r.Hash())
	}
	// The states went through sending and sent, persisted before the send.
	var seen []State
	for _, u := range p.a.q.log {
		seen = append(seen, u.State)
	}
	want := []State{StateSending, StateSent, StateDelivered}
	if len(seen) != len(want) {
		t.Fatalf("states %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("states %v, want %v", seen, want)
		}
	}
}

func TestUnknownSourceStoredUnverified(t *testing.T) {
	p := newPair(t, false, Options{})
	// Only alice knows bob.
	if err := p.a.r.RememberPeer(Peer{Hash: p.b.r.Hash(), Identity: p.b.id}); err != nil {
		t.Fatal(err)
	}
	id := p.a.compose(t, p.b.r.Hash(), "who am i", p.clock.Now())
	p.step(0)
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v", u)
	}
	_, stored, _ := p.b.sink.snapshot()
	if len(stored) != 1 || stored[0].Verified {
		t.Fatalf("stored %d, verified %v; want 1 unverified", len(stored), len(stored) == 1 && stored[0].Verified)
	}
}

func TestRetryKeepsMessageID(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	// Bob's replies (proofs) are lost: alice must retry, bob must see the
	// same message again and store it once.
	p.b.pipe.SetDrop(true)
	id := p.a.compose(t, p.b.r.Hash(), "again", p.clock.Now())
	p.step(0)
	if u := p.a.q.state(id); u.State != StateSent || u.Attempts != 1 {
		t.Fatalf("after first send: %+v", u)
	}
	// Nothing happens before the retry wait.
	p.step(p.a.r.backoff(1) - time.Second)
	if u := p.a.q.state(id); u.Attempts != 1 {
		t.Fatalf("retried early: %+v", u)
	}
	p.step(time.Second)
	if u := p.a.q.state(id); u.State != StateSent || u.Attempts != 2 {
		t.Fatalf("after retry wait: %+v", u)
	}
	p.b.pipe.SetDrop(false)
	p.step(p.a.r.backoff(2))
	if u := p.a.q.state(id); u.State != StateDelivered || u.Attempts != 3 {
		t.Fatalf("after third attempt: %+v", u)
	}
	calls, stored, _ := p.b.sink.snapshot()
	if calls != 3 || len(stored) != 1 || stored[0].Message.ID != id {
		t.Fatalf("bob: %d deliveries, %d stored; want 3 and 1", calls, len(stored))
	}
	// Late receipts of the earlier attempts change nothing.
	p.step(time.Hour)
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("after late receipts: %+v", u)
	}
}

func TestNoProofWhenStoreFails(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	p.b.sink.mu.Lock()
	p.b.sink.fail = errors.New("disk full")
	p.b.sink.mu.Unlock()
	id := p.a.compose(t, p.b.r.Hash(), "x", p.clock.Now())
	p.step(0)
	p.step(p.a.r.backoff(1))
	if u := p.a.q.state(id); u.State != StateSent || u.Attempts != 2 {
		t.Fatalf("state %+v; want sent twice, unproven", u)
	}
	p.b.sink.mu.Lock()
	p.b.sink.fail = nil
	p.b.sink.mu.Unlock()
	p.step(p.a.r.backoff(2))
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v; want delivered once storing works", u)
	}
}

func TestFailsWhenRecipientUnknown(t *testing.T) {
	p := newPair(t, false, Options{})
	stranger, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dest := lxmf.DeliveryHash(stranger)
	m := &lxmf.Message{Destination: dest, Timestamp: lxmf.Timestamp(p.clock.Now()), Content: []byte("lost")}
	if err := m.Pack(p.a.id); err != nil {
		t.Fatal(err)
	}
	p.a.q.add(Outbound{ID: m.ID, Destination: dest, Packed: m.Packed, Method: lxmf.MethodOpportunistic, CreatedAt: p.clock.Now()}, p.clock.Now())
	for i := range 20 {
		p.step(10 * time.Second)
		if u := p.a.q.state(m.ID); u.State == StateFailed {
			if u.Attempts != p.a.r.opts.MaxAttempts || u.Err == "" {
				t.Fatalf("failed with %+v", u)
			}
			t.Logf("failed after %d steps: %s", i+1, u.Err)
			return
		}
	}
	t.Fatalf("never failed: %+v", p.a.q.state(m.ID))
}

func TestFailsAfterMaxAge(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	p.b.pipe.SetDrop(true)
	id := p.a.compose(t, p.b.r.Hash(), "old", p.clock.Now())
	p.step(0)
	p.step(2 * time.Hour)
	p.step(time.Hour)
	if u := p.a.q.state(id); u.State != StateFailed {
		t.Fatalf("state %+v; want failed after max age", u)
	}
}

func TestMethodUnavailable(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	m := &lxmf.Message{Destination: p.b.r.Hash(), Timestamp: 1, Content: []byte("d")}
	if err := m.Pack(p.a.id); err != nil {
		t.Fatal(err)
	}
	p.a.q.add(Outbound{ID: m.ID, Destination: m.Destination, Packed: m.Packed, Method: lxmf.MethodDirect}, p.clock.Now())
	p.step(0)
	if u := p.a.q.state(m.ID); u.State != StateFailed {
		t.Fatalf("state %+v; want failed", u)
	}
}

func TestAnnounceRecordsPeer(t *testing.T) {
	p := newPair(t, false, Options{StampCost: 0})
	p.b.r.SetDisplayName("Bob B")
	if err := p.b.r.Announce(); err != nil {
		t.Fatal(err)
	}
	p.step(0)
	_, _, peers := p.a.sink.snapshot()
	if len(peers) != 1 {
		t.Fatalf("peers %+v", peers)
	}
	pe := peers[0]
	if pe.Hash != p.b.r.Hash() || pe.DisplayName != "Bob B" || pe.Identity == nil || lxmf.DeliveryHash(pe.Identity) != pe.Hash {
		t.Fatalf("peer %+v", pe)
	}
	// The announce made bob's identity known: a message needs no introduction.
	id := p.a.compose(t, p.b.r.Hash(), "after announce", p.clock.Now())
	p.step(0)
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v", u)
	}
}

func TestInboundStampRequired(t *testing.T) {
	p := newPair(t, false, Options{StampCost: 4})
	if err := p.b.r.Announce(); err != nil {
		t.Fatal(err)
	}
	p.step(0)
	if err := p.b.r.RememberPeer(Peer{Hash: p.a.r.Hash(), Identity: p.a.id}); err != nil {
		t.Fatal(err)
	}
	id := p.a.compose(t, p.b.r.Hash(), "stamped", p.clock.Now())
	p.step(0)
	if u := p.a.q.state(id); u.State != StateDelivered {
		t.Fatalf("state %+v", u)
	}
	_, stored, _ := p.b.sink.snapshot()
	if len(stored) != 1 || len(stored[0].Message.Stamp) != lxmf.StampSize {
		t.Fatalf("stored %d messages", len(stored))
	}
	// A message without a stamp is refused (not stored, not proven).
	m := &lxmf.Message{Destination: p.b.r.Hash(), Timestamp: 5, Content: []byte("no stamp")}
	if err := m.Pack(p.a.id); err != nil {
		t.Fatal(err)
	}
	if _, err := p.a.tr.Send(p.b.r.Hash(), m.Packed[lxmf.DestinationLength:], sendNoReceipt()); err != nil {
		t.Fatal(err)
	}
	p.step(0)
	if _, stored, _ := p.b.sink.snapshot(); len(stored) != 1 {
		t.Fatalf("unstamped message stored")
	}
}

func TestMalformedNotProven(t *testing.T) {
	p := newPair(t, false, Options{})
	p.introduce()
	for _, payload := range [][]byte{{}, {0x01}, make([]byte, 100)} {
		rc, err := p.a.tr.Send(p.b.r.Hash(), payload, sendWithReceipt())
		if err != nil {
			t.Fatal(err)
		}
		p.step(0)
		p.step(20 * time.Minute)
		if rc.Status().String() != "failed" {
			t.Fatalf("malformed %x: receipt %s; want failed (no proof)", payload, rc.Status())
		}
	}
	if calls, _, _ := p.b.sink.snapshot(); calls != 0 {
		t.Fatalf("sink called %d times", calls)
	}
}

func TestStartWakeAndCloseNoLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		p := newPair(t, true, Options{})
		p.introduce()
		ctx := context.Background()
		for _, s := range []*side{p.a, p.b} {
			if err := s.r.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.a.r.Start(ctx); !errors.Is(err, ErrStarted) {
			t.Fatalf("second start: %v", err)
		}
		// No tick: queuing wakes the router and the message goes at once.
		var ids []wire.FullHash
		for i := range 5 {
			ids = append(ids, p.a.compose(t, p.b.r.Hash(), "live "+string(rune('a'+i)), time.Now()))
		}
		deadline := time.After(10 * time.Second)
		for _, id := range ids {
			for p.a.q.state(id).State != StateDelivered {
				select {
				case <-deadline:
					t.Fatalf("not delivered: %+v", p.a.q.state(id))
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
		for _, s := range []*side{p.a, p.b} {
			if err := s.r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.r.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
			_ = s.tr.Close()
		}
		p.wg.Wait()
	}()
	for range 200 {
		if runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("goroutines %d > %d after close\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
}
