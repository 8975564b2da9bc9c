package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func outMsg(id, peer string, next int64) *Message {
	return &Message{
		MessageID: id, Direction: DirectionOut, Peer: peer, Content: []byte("hi " + id),
		Timestamp: 1.5, State: StateQueued, Method: "opportunistic", NextAttemptAt: next,
	}
}

func TestMessagesInsertIsIdempotent(t *testing.T) {
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	ctx := context.Background()
	id := strings.Repeat("ab", 32)
	in := &Message{MessageID: id, Direction: DirectionIn, Peer: "p1", Content: []byte("first"), State: StateReceived}
	ok, err := s.InsertMessage(ctx, in)
	if err != nil || !ok {
		t.Fatalf("first insert: %v, %v", ok, err)
	}
	dup := &Message{MessageID: id, Direction: DirectionIn, Peer: "p1", Content: []byte("second"), State: StateReceived}
	ok, err = s.InsertMessage(ctx, dup)
	if err != nil || ok {
		t.Fatalf("duplicate insert: inserted=%v err=%v; want no-op", ok, err)
	}
	// The same id outbound is a different row (a message to ourselves).
	if ok, err := s.InsertMessage(ctx, outMsg(id, "p1", 0)); err != nil || !ok {
		t.Fatalf("outbound with same id: %v, %v", ok, err)
	}
	got, err := s.GetMessage(ctx, id, DirectionIn)
	if err != nil || string(got.Content) != "first" {
		t.Fatalf("stored %q, %v; want the first copy", got.Content, err)
	}
	if _, err := s.GetMessage(ctx, "nope", DirectionIn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing message: %v", err)
	}
	all, err := s.ListMessages(ctx, "p1", 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %d, %v", len(all), err)
	}
	// A bad state is refused by the schema.
	bad := &Message{MessageID: "x", Direction: DirectionIn, Peer: "p1", State: "bogus"}
	if _, err := s.InsertMessage(ctx, bad); err == nil {
		t.Fatal("insert with invalid state succeeded")
	}
}

func TestMessagesQueue(t *testing.T) {
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	ctx := context.Background()
	if _, ok, err := s.NextAttemptAt(ctx); err != nil || ok {
		t.Fatalf("empty queue: ok=%v err=%v", ok, err)
	}
	for _, m := range []*Message{outMsg("a", "p1", 300), outMsg("b", "p2", 100), outMsg("c", "p1", 200)} {
		if _, err := s.InsertMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	inbound := &Message{MessageID: "d", Direction: DirectionIn, Peer: "p1", State: StateReceived}
	if _, err := s.InsertMessage(ctx, inbound); err != nil {
		t.Fatal(err)
	}
	at, ok, err := s.NextAttemptAt(ctx)
	if err != nil || !ok || at != 100 {
		t.Fatalf("next attempt %d %v %v; want 100", at, ok, err)
	}
	due, err := s.DueMessages(ctx, 250, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].MessageID != "b" || due[1].MessageID != "c" {
		t.Fatalf("due = %v", ids(due))
	}
	if err := s.UpdateOutbound(ctx, "b", MessageUpdate{State: StateDelivered, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateOutbound(ctx, "c", MessageUpdate{State: StateSent, Attempts: 2, NextAttemptAt: 1000, Error: "x"}); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueMessages(ctx, 999, 10)
	if len(due) != 1 || due[0].MessageID != "a" {
		t.Fatalf("due after updates = %v; want [a]", ids(due))
	}
	c, _ := s.GetMessage(ctx, "c", DirectionOut)
	if c.State != StateSent || c.Attempts != 2 || c.NextAttemptAt != 1000 || c.Error != "x" {
		t.Fatalf("c = %+v", c)
	}
	// Zero values are written too.
	if err := s.UpdateOutbound(ctx, "c", MessageUpdate{State: StateFailed}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.GetMessage(ctx, "c", DirectionOut)
	if c.State != StateFailed || c.Attempts != 0 || c.Error != "" {
		t.Fatalf("c after zero update = %+v", c)
	}
	if err := s.UpdateOutbound(ctx, "d", MessageUpdate{State: StateSent}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("updating an inbound message: %v; want ErrNotFound", err)
	}
	if err := s.SetOutboundPacked(ctx, "a", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.GetMessage(ctx, "a", DirectionOut)
	if string(a.Packed) != "\x01\x02" {
		t.Fatalf("packed = %x", a.Packed)
	}
	at, ok, _ = s.NextAttemptAt(ctx)
	if !ok || at != 300 {
		t.Fatalf("next attempt %d %v; want 300", at, ok)
	}
}

func ids(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MessageID)
	}
	return out
}

func TestPeersUpsert(t *testing.T) {
	s, _ := openTemp(t, 0)
	defer closeStore(t, s)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Peer{Hash: "aa", PublicKey: []byte{1}, DisplayName: "one", StampCost: 8, Hops: 2, LastSeen: t0}
	if err := s.UpsertPeer(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertPeer(ctx, &Peer{Hash: "bb", PublicKey: []byte{2}, LastSeen: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	upd := &Peer{Hash: "aa", PublicKey: []byte{9}, DisplayName: "renamed", Hops: 1, LastSeen: t0.Add(2 * time.Hour)}
	if err := s.UpsertPeer(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPeer(ctx, "aa")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "renamed" || got.StampCost != 0 || got.Hops != 1 || !got.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("peer = %+v", got)
	}
	if string(got.PublicKey) != "\x01" {
		t.Fatalf("public key replaced: %x", got.PublicKey)
	}
	list, err := s.ListPeers(ctx, 0)
	if err != nil || len(list) != 2 || list[0].Hash != "aa" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := s.GetPeer(ctx, "cc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing peer: %v", err)
	}
}
