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

type codedErr struct{ code int }

func (e codedErr) Error() string { return fmt.Sprintf("sqlite error %d", e.code) }
func (e codedErr) Code() int     { return e.code }

func TestFullMapsToErrStorageFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		full bool
	}{
		{"code", codedErr{13}, true},
		{"extended code", codedErr{13 | 1<<8}, true},
		{"message", errors.New("database or disk is full (13)"), true},
		{"busy", codedErr{5}, false},
		{"other", errors.New("no such table"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(translate(fmt.Errorf("wrap: %w", tc.err)), ErrStorageFull); got != tc.full {
				t.Fatalf("ErrStorageFull %v, want %v", got, tc.full)
			}
		})
	}
}

func TestInboundBytesAndSince(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	now := time.Now().UTC()
	for i, m := range []Message{
		{MessageID: "01", Direction: DirectionIn, Peer: "aa", Title: []byte("t"), Content: []byte("hello"), Packed: make([]byte, 10), State: StateReceived, CreatedAt: now.Add(-2 * time.Hour)},
		{MessageID: "02", Direction: DirectionIn, Peer: "bb", Content: []byte("abc"), Fields: []byte{1, 2}, State: StateReceived, CreatedAt: now},
		{MessageID: "03", Direction: DirectionOut, Peer: "bb", Content: make([]byte, 100), State: StateQueued, CreatedAt: now},
	} {
		if _, err := s.InsertMessage(ctx, &m); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	n, err := s.InboundBytes(ctx)
	if err != nil || n != 16+5 {
		t.Fatalf("inbound bytes %d %v, want 21", n, err)
	}
	rows, err := s.InboundSince(ctx, now.Add(-time.Hour), 0)
	if err != nil || len(rows) != 1 || rows[0].Peer != "bb" || rows[0].Bytes != 5 {
		t.Fatalf("inbound since: %+v %v", rows, err)
	}
}
