package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func propMsg(i int, dest string, size int, at time.Time) *PropagationMessage {
	return &PropagationMessage{
		TransientID: fmt.Sprintf("%064x", i), Destination: dest,
		Data: []byte(strings.Repeat("x", size)), ReceivedAt: at,
	}
}

func TestPropagationStorageLimit(t *testing.T) {
	s, p := openTemp(t, 0)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		res, err := s.InsertPropagationMessage(ctx, propMsg(i, "aa", 100, t0.Add(time.Duration(i)*time.Second)), 300)
		if err != nil || !res.Inserted || res.Evicted != 0 {
			t.Fatalf("insert %d: %+v %v", i, res, err)
		}
	}
	// A duplicate is a no-op.
	if res, err := s.InsertPropagationMessage(ctx, propMsg(1, "aa", 100, t0), 300); err != nil || res.Inserted {
		t.Fatalf("duplicate: %+v %v", res, err)
	}
	// Over the limit: the oldest go first, never the new one.
	res, err := s.InsertPropagationMessage(ctx, propMsg(3, "bb", 150, t0.Add(time.Hour)), 300)
	if err != nil || !res.Inserted || res.Evicted != 2 || res.Total != 250 {
		t.Fatalf("over the limit: %+v %v", res, err)
	}
	for i, want := range []bool{false, false, true, true} {
		if has, err := s.HasPropagationMessage(ctx, fmt.Sprintf("%064x", i)); err != nil || has != want {
			t.Fatalf("message %d held %v (%v), want %v", i, has, err, want)
		}
	}
	// Larger than the whole limit: a clear error, nothing evicted.
	if _, err := s.InsertPropagationMessage(ctx, propMsg(4, "bb", 301, t0), 300); !errors.Is(err, ErrPropagationLimit) {
		t.Fatalf("too large: %v", err)
	}
	if n, b, err := s.PropagationUsage(ctx); err != nil || n != 2 || b != 250 {
		t.Fatalf("usage %d %d %v", n, b, err)
	}
	// State survives a reopen (a restarted node serves what it held).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ls, err := s.ListPropagationMessages(ctx, "bb", 0)
	if err != nil || len(ls) != 1 || ls[0].Size != 150 {
		t.Fatalf("list after reopen %+v %v", ls, err)
	}
	got, err := s.GetPropagationMessages(ctx, "bb", []string{fmt.Sprintf("%064x", 2), ls[0].TransientID})
	if err != nil || len(got) != 1 || got[0].TransientID != ls[0].TransientID {
		t.Fatalf("get for bb: %+v %v (another destination's message must not be served)", got, err)
	}
	if n, err := s.DeletePropagationMessages(ctx, "aa", []string{ls[0].TransientID}); err != nil || n != 0 {
		t.Fatalf("delete by another destination: %d %v", n, err)
	}
	if n, err := s.ExpirePropagationMessages(ctx, t0); err != nil || n != 0 {
		t.Fatalf("expire before the newest: %d %v", n, err)
	}
	if n, err := s.ExpirePropagationMessages(ctx, t0.Add(2*time.Hour)); err != nil || n != 2 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if n, err := s.DeletePropagationMessages(ctx, "bb", []string{ls[0].TransientID}); err != nil || n != 0 {
		t.Fatalf("delete after expiry: %d %v", n, err)
	}
}

func TestPropagationNodes(t *testing.T) {
	s, _ := openTemp(t, 0)
	defer func() { _ = s.Close() }()
	ctx := context.Background()
	n := &PropagationNode{Hash: "aa", PublicKey: []byte{1}, Name: "one", Enabled: true, StampCost: 16, LastSeen: time.Unix(100, 0)}
	if err := s.UpsertPropagationNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertPropagationNode(ctx, &PropagationNode{Hash: "aa", PublicKey: []byte{2}, Name: "renamed", StampCost: 13, LastSeen: time.Unix(200, 0)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPropagationNode(ctx, "aa")
	if err != nil || got.Name != "renamed" || got.StampCost != 13 || got.Enabled || string(got.PublicKey) != "\x01" {
		t.Fatalf("node %+v %v", got, err)
	}
	if _, err := s.GetPropagationNode(ctx, "bb"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing node: %v", err)
	}
	ls, err := s.ListPropagationNodes(ctx, 0)
	if err != nil || len(ls) != 1 {
		t.Fatalf("list %+v %v", ls, err)
	}
}

// TestPropagationRunningTotalMatchesTable: the total an upload reports is kept without summing the
// table each time; after uploads, evictions, deletes by a client and expiry it still equals the sum.
func TestPropagationRunningTotalMatchesTable(t *testing.T) {
	s, p := openTemp(t, 0)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	check := func(step string, total int64) {
		t.Helper()
		_, b, err := s.PropagationUsage(ctx)
		if err != nil || b != total {
			t.Fatalf("%s: running total %d, table holds %d (%v)", step, total, b, err)
		}
	}
	var last PropagationInsert
	for i := range 40 {
		res, err := s.InsertPropagationMessage(ctx, propMsg(i, fmt.Sprintf("d%d", i%4), 10+i, t0.Add(time.Duration(i)*time.Minute)), 0)
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	check("uploads", last.Total)
	if _, err := s.DeletePropagationMessages(ctx, "d1", []string{fmt.Sprintf("%064x", 1), fmt.Sprintf("%064x", 5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpirePropagationMessages(ctx, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A limit that evicts more than one chunk's worth would need >500 rows; this one evicts several.
	res, err := s.InsertPropagationMessage(ctx, propMsg(100, "d0", 50, t0.Add(time.Hour)), 600)
	if err != nil || res.Evicted == 0 || res.Total > 600 {
		t.Fatalf("evicting upload: %+v %v", res, err)
	}
	check("after delete, expiry and eviction", res.Total)
	// A reopened store loads the total again.
	closeStore(t, s)
	s, err = Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	res, err = s.InsertPropagationMessage(ctx, propMsg(101, "d2", 5, t0.Add(2*time.Hour)), 0)
	if err != nil {
		t.Fatal(err)
	}
	check("after reopen", res.Total)
}
