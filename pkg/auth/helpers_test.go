package auth

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// testHash keeps argon2id cheap in tests; production parameters are checked separately.
var testHash = HashParams{MemoryKiB: 64, Iterations: 1, Threads: 1}

func newTestService(t testing.TB, mod func(*Options)) (*Service, *store.Store, *testkit.Clock) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "reticle.db")
	st, err := store.Open(context.Background(), store.Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := newFakeClock()
	opts := Options{Now: clk.Now, Hash: testHash}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts, st)
	if err != nil {
		t.Fatal(err)
	}
	return s, st, clk
}

const testPassword = "correct horse battery staple"

// setupOwner claims the instance with testPassword and returns the first session.
func setupOwner(t testing.TB, s *Service) *NewSession {
	t.Helper()
	ctx := context.Background()
	code, err := s.Bootstrap(ctx, "")
	if err != nil || code == "" {
		t.Fatalf("bootstrap = %q, %v", code, err)
	}
	ns, err := s.Setup(ctx, Client{IP: "192.0.2.1", Path: "/api/v1/auth/setup"}, code, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
