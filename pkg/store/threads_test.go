package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestUpgradeToConversations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reticle.db")
	old, err := Open(ctx, Options{Path: path, Database: testkit.Database(t, path), MigrateTo: 5})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, m := range []struct{ dir, state string }{{DirectionIn, StateReceived}, {DirectionOut, StateDelivered}, {DirectionOut, StateFailed}} {
		err := old.db.Exec(`INSERT INTO messages (message_id, direction, peer, title, content, fields, packed, timestamp, state, created_at, updated_at)
			VALUES (?, ?, 'p1', ?, ?, ?, ?, 1, ?, ?, ?)`, fmt.Sprintf("%064d", i), m.dir, []byte{}, []byte("hi"),
			[]byte{0x81, 0x05, 0x00, 0x00}, []byte{1, 2, 3, 4}, m.state, now, now).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = old.Close()
	s, err := Open(ctx, Options{Path: path, Database: testkit.Database(t, path)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var packed []string
	if err := s.db.Raw(`SELECT message_id FROM messages WHERE packed IS NOT NULL`).Scan(&packed).Error; err != nil || len(packed) != 1 || packed[0] != fmt.Sprintf("%064d", 2) {
		t.Fatalf("rows keeping packed: %v, %v (only the failed outbound one may)", packed, err)
	}
	rows, _, err := s.ListConversations(ctx, ConversationQuery{Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].Peer != "p1" || rows[0].Unread != 0 || rows[0].MessageID != fmt.Sprintf("%064d", 2) {
		t.Fatalf("conversations %+v, %v", rows, err)
	}
	if un, err := s.UnmigratedMessages(ctx, 10); err != nil || len(un) != 3 {
		t.Fatalf("unmigrated %d, %v", len(un), err)
	}
	if err := s.RetryOutbound(ctx, fmt.Sprintf("%064d", 2), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryOutbound(ctx, fmt.Sprintf("%064d", 1), 5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry of a delivered message: %v", err)
	}
	if err := s.CancelOutbound(ctx, fmt.Sprintf("%064d", 2)); err != nil {
		t.Fatal(err)
	}
	// The router's late update does not undo a cancel.
	if err := s.UpdateOutbound(ctx, fmt.Sprintf("%064d", 2), MessageUpdate{State: StateSent}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.GetMessage(ctx, fmt.Sprintf("%064d", 2), DirectionOut); m.State != StateFailed || m.Error != ErrorCancelled {
		t.Fatalf("after cancel and a late update: %s %q", m.State, m.Error)
	}
}

func TestPeersCappedAndPaged(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "reticle.db")
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p), MaxPeers: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// p00 has a conversation and p01 a contact entry, so they survive eviction although they are the oldest.
	if _, err := s.PutContact(ctx, Contact{Address: "p01", Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertMessage(ctx, &Message{MessageID: "m", Direction: DirectionIn, Peer: "p00", State: StateReceived, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if err := s.UpsertPeer(ctx, &Peer{Hash: fmt.Sprintf("p%02d", i), PublicKey: []byte{1}, DisplayName: fmt.Sprintf("name %d", i), LastSeen: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var all []Peer
	q := PeerQuery{Limit: 3}
	for range 10 {
		page, next, err := s.ListPeerPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == nil {
			break
		}
		q.Cursor = next
	}
	if len(all) != 10 || all[0].Hash != "p24" || all[7].Hash != "p17" || all[8].Hash != "p01" || all[9].Hash != "p00" {
		t.Fatalf("paged peers %d: first %s, last %s", len(all), all[0].Hash, all[len(all)-1].Hash)
	}
	got, _, err := s.ListPeerPage(ctx, PeerQuery{Limit: 50, Search: "name 2_"})
	if err != nil || len(got) != 0 {
		t.Fatalf("LIKE wildcard not escaped: %d, %v", len(got), err)
	}
	got, _, _ = s.ListPeerPage(ctx, PeerQuery{Limit: 50, Search: "NAME 2"})
	if len(got) != 5 { // 2, 20..24 minus evicted 2 -> 20..24
		t.Fatalf("search found %d", len(got))
	}
	if got, _, _ = s.ListPeerPage(ctx, PeerQuery{Limit: 50, Search: "kept"}); len(got) != 1 || got[0].Hash != "p01" {
		t.Fatalf("search by contact name found %+v", got)
	}
}
