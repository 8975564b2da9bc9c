package testkit

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Fatalf("advanced by %v, want 90s", got)
	}
}

func TestPipe(t *testing.T) {
	a, b := NewPipe("a", 500), NewPipe("b", 500)
	Connect(a, b)
	if a.Peer() != b || b.Peer() != a || a.MTU() != 500 {
		t.Fatal("pipe not connected")
	}
	frame := []byte{1, 2, 3}
	if err := a.Send(frame); err != nil {
		t.Fatal(err)
	}
	frame[0] = 9 // the pipe keeps its own copy
	a.SetDrop(true)
	_ = a.Send([]byte{4})
	a.SetDrop(false)
	got := a.Take()
	if len(got) != 1 || got[0][0] != 1 || len(a.Take()) != 0 {
		t.Fatalf("Take = %v", got)
	}
	var wg sync.WaitGroup
	ch := make(chan []byte, 1)
	b.DeliverAsync(&wg, func(f []byte) { ch <- f })
	_ = b.Send([]byte{7})
	wg.Wait()
	if f := <-ch; f[0] != 7 || len(b.Take()) != 0 {
		t.Fatalf("async delivery: %v", f)
	}
}
