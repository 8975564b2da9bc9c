package link

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

// acceptAll returns listen callbacks that accept every resource and record
// the concluded ones.
func acceptAll(got *[]*Resource, progress *int) ListenConfig {
	return ListenConfig{Callbacks: Callbacks{
		ResourceAdvertised: func(*Link, *Advertisement) bool { return true },
		ResourceConcluded:  func(_ *Link, r *Resource) { *got = append(*got, r) },
		ResourceProgress:   func(*Link, *Resource) { *progress++ },
	}}
}

func TestResourceTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
		size int
	}{
		{"one byte", 500, 1},
		{"one part", 500, 300},
		{"hashmap updates", 500, 120_000},
		{"full segment at base mtu", 500, MaxSegmentSize},
		{"large mtu", 262144, 600_000},
		{"three segments", 262144, 2*MaxSegmentSize + 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*Resource
			progress := 0
			p := newPair(t, tc.mtu, Options{}, acceptAll(&got, &progress))
			la, _ := p.open(Callbacks{})
			la.mu.Lock()
			la.mtu, la.mdu = tc.mtu, mduFor(tc.mtu)
			la.mu.Unlock()
			lb, _ := p.b.Link(la.ID())
			lb.mu.Lock()
			lb.mtu, lb.mdu = tc.mtu, mduFor(tc.mtu)
			lb.mu.Unlock()
			data := make([]byte, tc.size)
			_, _ = rand.Read(data)
			var done *Resource
			r, err := la.SendResource(data, ResourceOptions{Concluded: func(r *Resource) { done = r }})
			if err != nil {
				t.Fatal(err)
			}
			p.pump()
			if done != r || r.Err() != nil || r.Status() != ResourceComplete {
				t.Fatalf("sender: concluded=%v err=%v status=%v", done == r, r.Err(), r.Status())
			}
			if len(got) != 1 || got[0].Err() != nil || !bytes.Equal(got[0].Data(), data) {
				t.Fatalf("receiver: %d resources, data intact=%v", len(got), len(got) == 1 && bytes.Equal(got[0].Data(), data))
			}
			if got[0].Progress() != 1 || r.Progress() != 1 || progress == 0 {
				t.Fatalf("progress %v/%v after %d callbacks", got[0].Progress(), r.Progress(), progress)
			}
			if got[0].Segments() != (tc.size-1)/MaxSegmentSize+1 {
				t.Fatalf("segments %d", got[0].Segments())
			}
			if len(la.outgoing) != 0 || len(lb.incoming) != 0 {
				t.Fatal("resources still registered")
			}
		})
	}
}

func TestResourceRefused(t *testing.T) {
	t.Run("over the size cap", func(t *testing.T) {
		var got []*Resource
		n := 0
		p := newPair(t, 500, Options{MaxResourceSize: 10_000}, acceptAll(&got, &n))
		la, lb := p.open(Callbacks{})
		r, err := la.SendResource(make([]byte, 10_001), ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if !errors.Is(r.Err(), ErrRejected) || r.Status() != ResourceRejected {
			t.Fatalf("sender err %v status %v", r.Err(), r.Status())
		}
		if len(got) != 0 || len(lb.incoming) != 0 {
			t.Fatal("receiver kept an oversized resource")
		}
		if la.Status() != StatusActive {
			t.Fatal("link harmed by refusal")
		}
		ok, err := la.SendResource(make([]byte, 10_000), ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if ok.Err() != nil || len(got) != 1 {
			t.Fatalf("resource at the cap: %v", ok.Err())
		}
	})
	t.Run("application refuses", func(t *testing.T) {
		p := newPair(t, 500, Options{}, ListenConfig{})
		la, _ := p.open(Callbacks{})
		r, err := la.SendResource([]byte("unwanted"), ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.pump()
		if !errors.Is(r.Err(), ErrRejected) {
			t.Fatalf("err %v", r.Err())
		}
	})
}

func TestResourceCancel(t *testing.T) {
	var got []*Resource
	n := 0
	p := newPair(t, 500, Options{}, acceptAll(&got, &n))
	la, lb := p.open(Callbacks{})
	r, err := la.SendResource(make([]byte, 50_000), ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Deliver only the advertisement and the first request.
	p.tb.Inbound(p.ib, p.ia.Take()[0])
	if len(lb.incoming) != 1 {
		t.Fatal("receiver did not accept")
	}
	r.Cancel()
	p.pump()
	if !errors.Is(r.Err(), ErrCancelled) || len(got) != 1 || !errors.Is(got[0].Err(), ErrCancelled) {
		t.Fatalf("sender %v, receiver %v", r.Err(), got)
	}
	if len(lb.incoming) != 0 || len(la.outgoing) != 0 {
		t.Fatal("cancelled resources still registered")
	}
}

func TestResourceRetriesLostParts(t *testing.T) {
	var got []*Resource
	n := 0
	p := newPair(t, 500, Options{}, acceptAll(&got, &n))
	la, _ := p.open(Callbacks{})
	data := make([]byte, 20_000)
	_, _ = rand.Read(data)
	r, err := la.SendResource(data, ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Drop every third frame from the sender for a while.
	for round := 0; round < 200 && !closed(r.Done()); round++ {
		for k, f := range p.ia.Take() {
			if round < 20 && k%3 == 2 {
				continue
			}
			p.tb.Inbound(p.ib, f)
		}
		for _, f := range p.ib.Take() {
			p.ta.Inbound(p.ia, f)
		}
		p.clock.Advance(500 * time.Millisecond)
		p.a.RunJobs()
		p.b.RunJobs()
	}
	p.pump()
	if r.Err() != nil || len(got) != 1 || !bytes.Equal(got[0].Data(), data) {
		t.Fatalf("transfer with loss: sender %v, received %d", r.Err(), len(got))
	}
}

// TestResourceWindow checks the reference's window behaviour: it grows by
// one per completed round, up to 10 on a slow link and up to 75 once the
// measured rate is fast; timeouts shrink it again.
func TestResourceWindow(t *testing.T) {
	var got []*Resource
	n := 0
	p := newPair(t, 500, Options{}, acceptAll(&got, &n))
	la, lb := p.open(Callbacks{})
	data := make([]byte, 400_000) // 863 parts
	_, _ = rand.Read(data)
	r, err := la.SendResource(data, ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	maxWin, cur, shrunk := 0, 0, false
	observe := func() {
		lb.mu.Lock()
		for _, in := range lb.incoming {
			if in.in != nil {
				cur = in.in.window
				maxWin = max(maxWin, cur)
			}
		}
		lb.mu.Unlock()
	}
	// Each exchange takes 1 ms of fake time: about 460 kB/s, a fast link.
	for round := 0; round < 5000 && !closed(r.Done()); round++ {
		fa, fb := p.ia.Take(), p.ib.Take()
		p.clock.Advance(time.Millisecond)
		for _, f := range fa {
			p.tb.Inbound(p.ib, f)
		}
		for _, f := range fb {
			p.ta.Inbound(p.ia, f)
		}
		p.a.RunJobs()
		p.b.RunJobs()
		observe()
		if maxWin >= 3*windowMaxSlow && !shrunk && len(fa) > 0 {
			// Now lose the receiver's requests for a while: it times out
			// and shrinks its window.
			before := cur
			for range 6 {
				p.clock.Advance(2 * time.Second)
				p.b.RunJobs()
				p.ib.Take()
				observe()
			}
			if cur >= before {
				t.Fatalf("window did not shrink after timeouts: %d -> %d", before, cur)
			}
			t.Logf("window %d shrank to %d after timeouts", before, cur)
			shrunk = true
		}
	}
	if maxWin <= windowMaxSlow || maxWin > windowMaxFast || !shrunk {
		t.Fatalf("window peaked at %d (slow max %d, fast max %d), shrunk %v", maxWin, windowMaxSlow, windowMaxFast, shrunk)
	}
	p.pump()
	if r.Err() != nil || len(got) != 1 || !bytes.Equal(got[0].Data(), data) {
		t.Fatalf("transfer: %v", r.Err())
	}
}
