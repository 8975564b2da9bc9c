package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestInterfaceGetAndUpdate(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	a := &Interface{Name: "a", URI: "tcp-client://127.0.0.1:1", Enabled: true}
	b := &Interface{Name: "b", URI: "tcp-client://127.0.0.1:2", Enabled: true}
	for _, in := range []*Interface{a, b} {
		if err := s.CreateInterface(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	a.Name, a.URI, a.Enabled = "a2", "auto://", false // false must be written, not skipped as a zero value
	if err := s.UpdateInterface(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInterface(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "a2" || got.URI != "auto://" || got.Enabled {
		t.Fatalf("got %+v", got)
	}
	b.Name = "a2"
	if err := s.UpdateInterface(ctx, b); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto a2: %v", err)
	}
	if _, err := s.GetInterface(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.UpdateInterface(ctx, &Interface{ID: 999, Name: "z"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}
