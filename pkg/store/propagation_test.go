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
