package auth

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestRateLimitPerIPAndPath(t *testing.T) {
	clk := newFakeClock()
	lm := newLimiter(DefaultLimits())
	a := Client{IP: "198.51.100.1", Path: "/api/v1/auth/login"}
	for i := range 20 {
		if le := lm.check(clk.Now(), a); le != nil {
			t.Fatalf("attempt %d refused: %v", i+1, le)
		}
	}
	le := lm.check(clk.Now(), a)
	if le == nil || le.Reason != ReasonRateLimited || le.RetryAfterSeconds() != 60 {
		t.Fatalf("21st attempt: %+v", le)
	}
	if !errors.Is(le, ErrLimited) {
		t.Fatal("LimitError does not wrap ErrLimited")
	}
	// Another path and another IP have their own budgets.
	if le := lm.check(clk.Now(), Client{IP: a.IP, Path: "/api/v1/auth/setup"}); le != nil {
		t.Fatalf("other path limited: %v", le)
	}
	if le := lm.check(clk.Now(), Client{IP: "198.51.100.2", Path: a.Path}); le != nil {
		t.Fatalf("other ip limited: %v", le)
	}
	clk.Advance(59 * time.Second)
	if le := lm.check(clk.Now(), a); le == nil || le.RetryAfterSeconds() != 1 {
		t.Fatalf("at 59 s: %+v", le)
	}
	clk.Advance(time.Second)
	if le := lm.check(clk.Now(), a); le != nil {
		t.Fatalf("after the window: %v", le)
	}
}

func TestLockoutGrowsAndReleases(t *testing.T) {
	clk := newFakeClock()
	l := DefaultLimits()
	lm := newLimiter(l)
	a := Client{IP: "203.0.113.5", Path: "/api/v1/auth/login"}
	failN := func(n int) (locked bool) {
		for range n {
			if le := lm.check(clk.Now(), a); le != nil {
				t.Fatalf("refused before the threshold: %v", le)
			}
			locked, _ = lm.failure(clk.Now(), a)
		}
		return locked
	}
	if failN(4) {
		t.Fatal("locked after 4 failures")
	}
	if !failN(1) {
		t.Fatal("5th failure did not lock")
	}
	le := lm.check(clk.Now(), a)
	if le == nil || le.Reason != ReasonLocked || le.RetryAfter != l.LockoutBase {
		t.Fatalf("during lockout: %+v", le)
	}
	clk.Advance(l.LockoutBase - time.Second)
	if lm.check(clk.Now(), a) == nil {
		t.Fatal("released a second early")
	}
	clk.Advance(time.Second)
	if le := lm.check(clk.Now(), a); le != nil {
		t.Fatalf("not released after the lockout: %v", le)
	}
	// The second lockout lasts twice as long.
	if !failN(5) {
		t.Fatal("5 more failures did not lock again")
	}
	if le := lm.check(clk.Now(), a); le == nil || le.RetryAfter != 2*l.LockoutBase {
		t.Fatalf("second lockout: %+v", le)
	}
	// Failures spread wider than the window do not add up.
	b := Client{IP: "203.0.113.6", Path: a.Path}
	for range 8 {
		lm.failure(clk.Now(), b)
		lm.failure(clk.Now(), b)
		clk.Advance(l.FailWindow / 2)
		if le := lm.check(clk.Now(), b); le != nil && le.Reason == ReasonLocked {
			t.Fatalf("locked by failures spread over time: %+v", le)
		}
	}
	// A long quiet period resets the growth.
	clk.Advance(l.LevelReset)
	a2 := a
	failN(5)
	if le := lm.check(clk.Now(), a2); le == nil || le.RetryAfter != l.LockoutBase {
		t.Fatalf("after level reset: %+v", le)
	}
}

func TestLockoutCappedAtMax(t *testing.T) {
	clk := newFakeClock()
	l := DefaultLimits()
	lm := newLimiter(l)
	a := Client{IP: "203.0.113.5", Path: "/p"}
	var last time.Duration
	for range 12 {
		for range l.FailThreshold {
			lm.failure(clk.Now(), a)
		}
		le := lm.check(clk.Now(), a)
		if le == nil {
			t.Fatal("not locked")
		}
		last = le.RetryAfter
		clk.Advance(le.RetryAfter)
	}
	if last != l.LockoutMax {
		t.Fatalf("lockout grew to %v, want cap %v", last, l.LockoutMax)
	}
}

func TestGlobalBrakeSparesTrustedClients(t *testing.T) {
	clk := newFakeClock()
	l := DefaultLimits()
	lm := newLimiter(l)
	// A broad attack: one failure from each of many addresses, none of them locked individually.
	var started bool
	for i := range l.GlobalFailThreshold {
		a := Client{IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250), Path: "/api/v1/auth/login"}
		if le := lm.check(clk.Now(), a); le != nil {
			t.Fatalf("attacker %d refused early: %v", i, le)
		}
		_, started = lm.failure(clk.Now(), a)
	}
	if !started {
		t.Fatal("global brake did not engage")
	}
	fresh := Client{IP: "192.0.2.50", Path: "/api/v1/auth/login"}
	if le := lm.check(clk.Now(), fresh); le == nil || le.Reason != ReasonGlobalLock {
		t.Fatalf("untrusted newcomer during global lock: %+v", le)
	}
	trusted := Client{IP: "10.1.0.0", Path: "/api/v1/auth/login", TrustID: "browser-1"}
	if le := lm.check(clk.Now(), trusted); le != nil {
		t.Fatalf("trusted client refused during global lock, even from an attacker's address: %v", le)
	}
	clk.Advance(l.GlobalLockout)
	if le := lm.check(clk.Now(), fresh); le != nil {
		t.Fatalf("global lock not released: %v", le)
	}
}

func TestTrustedClientHasItsOwnLockout(t *testing.T) {
	clk := newFakeClock()
	lm := newLimiter(DefaultLimits())
	tr := Client{IP: "192.0.2.1", Path: "/p", TrustID: "stolen"}
	for range 5 {
		lm.failure(clk.Now(), tr)
	}
	if le := lm.check(clk.Now(), tr); le == nil || le.Reason != ReasonLocked {
		t.Fatalf("trusted marker not locked after 5 failures: %+v", le)
	}
	if le := lm.check(clk.Now(), Client{IP: tr.IP, Path: "/p"}); le != nil {
		t.Fatalf("marker failures locked the IP: %v", le)
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := newFakeClock()
	l := DefaultLimits()
	l.MaxKeys = 1000
	l.GlobalFailThreshold = 0 // keep every attempt reaching the per-client counters
	lm := newLimiter(l)
	for i := range 50000 {
		a := Client{IP: fmt.Sprintf("2001:db8::%x", i), Path: "/api/v1/auth/login"}
		_ = lm.check(clk.Now(), a)
		lm.failure(clk.Now(), a)
	}
	st := lm.stats()
	if st.Keys != 1000 || len(lm.entries) != 1000 {
		t.Fatalf("tracked %d keys (map %d), want cap 1000", st.Keys, len(lm.entries))
	}
	if st.Evictions != 99000 {
		t.Fatalf("evictions = %d, want 99000", st.Evictions)
	}
}

// BenchmarkLimiterMemory reports heap bytes per tracked key at the default cap.
func BenchmarkLimiterMemory(b *testing.B) {
	clk := newFakeClock()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		lm := newLimiter(DefaultLimits())
		for i := range 30000 {
			a := Client{IP: fmt.Sprintf("198.18.%d.%d", i/256, i%256), Path: "/api/v1/auth/login"}
			_ = lm.check(clk.Now(), a)
			lm.failure(clk.Now(), a)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := lm.stats()
		b.ReportMetric(float64(st.Keys), "keys")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Keys), "heap-bytes/key")
		runtime.KeepAlive(lm)
	}
}
