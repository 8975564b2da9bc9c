package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newManager(t *testing.T, s seeded) (*Manager, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	m, err := New(Options{DataDir: s.dir, Keep: 3, Version: "test", Now: clk.now}, s.st)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

func names(t *testing.T, m *Manager) []string {
	t.Helper()
	list, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range list {
		out = append(out, in.Name)
	}
	return out
}

// TestRotationKeepsNewestAndRefusesToDropGoodOnes: scheduled snapshots beyond Keep are rotated out,
// oldest first; manual ones stay; and after the database loses most messages every snapshot is kept.
func TestRotationKeepsNewestAndRefusesToDropGoodOnes(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 40)
	m, clk := newManager(t, s)
	manual, err := m.Create(ctx, "manual")
	if err != nil {
		t.Fatal(err)
	}
	var sched []string
	for range 5 {
		clk.t = clk.t.Add(12 * time.Hour)
		in, err := m.Create(ctx, "scheduled")
		if err != nil {
			t.Fatal(err)
		}
		if in.Messages != 40 || in.Problem != "" {
			t.Fatalf("info = %+v", in)
		}
		sched = append(sched, in.Name)
	}
	want := []string{sched[4], sched[3], sched[2], manual.Name}
	if got := names(t, m); !reflect.DeepEqual(got, want) {
		t.Fatalf("after rotation: %v, want %v", got, want)
	}
	// Most messages vanish: the next scheduled snapshot must not rotate the good ones out.
	for i := range 35 {
		if _, err := s.st.DeleteMessage(ctx, fmt.Sprintf("%064x", i)); err != nil {
			t.Fatal(err)
		}
	}
	clk.t = clk.t.Add(12 * time.Hour)
	bad, err := m.Create(ctx, "scheduled")
	if err != nil {
		t.Fatal(err)
	}
	if bad.Messages != 5 {
		t.Fatalf("snapshot after the loss holds %d messages", bad.Messages)
	}
	if got := names(t, m); len(got) != 5 || got[0] != bad.Name || got[1] != sched[4] || got[3] != sched[2] {
		t.Fatalf("rotation dropped snapshots after a loss: %v", got)
	}
	if !strings.Contains(m.Warning(), "keeping every snapshot") {
		t.Fatalf("no warning: %q", m.Warning())
	}
	if d := m.nextDue(); d != 12*time.Hour {
		t.Fatalf("next scheduled snapshot in %v, want 12h", d)
	}
}

func TestManagerOpenDeleteAndStagedRestore(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 12)
	m, _ := newManager(t, s)
	in, err := m.Create(ctx, "manual")
	if err != nil {
		t.Fatal(err)
	}
	// A foreign file and a temp file in the snapshots dir are not listed.
	writeFile(t, m.Dir(), "notes.txt", []byte("x"))
	writeFile(t, m.Dir(), ".tmp-reticle-x.zip-1", []byte("x"))
	writeFile(t, m.Dir(), "reticle-20200101-000000-000-manual.zip", []byte("garbage"))
	list, err := m.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != in.Name || list[1].Problem == "" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, bad := range []string{"../reticle.db", "notes.txt", "%2e%2e/" + in.Name, "/etc/passwd"} {
		if _, _, err := m.Open(ctx, bad); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("Open(%q) = %v, want ErrUnsafeName", bad, err)
		}
		if err := m.Delete(ctx, bad); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("Delete(%q) = %v", bad, err)
		}
	}
	if _, _, err := m.Open(ctx, "reticle-20300101-000000-000-manual.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing snapshot: %v", err)
	}
	f, _, err := m.Open(ctx, in.Name)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(f.Name())
	_ = f.Close()
	if err != nil {
		t.Fatal(err)
	}

	// An upload that is not a snapshot is refused and stages nothing.
	if _, err := m.StageRestore(ctx, strings.NewReader("PK not really"), ""); !IsInvalid(err) {
		t.Fatalf("garbage upload: %v", err)
	}
	if _, ok := m.Pending(); ok {
		t.Fatal("garbage upload left a pending restore")
	}
	// A real one is staged; the live data is untouched until ApplyPending at the next start.
	want := tree(t, s.dir)
	wantDB := digest(t, s.dir)
	if _, err := m.StageRestore(ctx, bytes.NewReader(archive), ""); err != nil {
		t.Fatal(err)
	}
	if man, ok := m.Pending(); !ok || man.Messages != 12 {
		t.Fatalf("pending = %+v, %v", man, ok)
	}
	writeFile(t, s.dir, "identities/lxmf", []byte("changed after the snapshot"))
	insertMessages(t, s.dir, s.st, 500, 3)
	if err := s.st.Close(); err != nil {
		t.Fatal(err)
	}
	_, saved, applied, err := ApplyPending(ctx, s.dir, RestoreOptions{})
	if err != nil || !applied || saved == "" {
		t.Fatalf("apply pending: applied %v saved %q: %v", applied, saved, err)
	}
	if got := tree(t, s.dir); !reflect.DeepEqual(got, want) {
		t.Fatal("files after the pending restore differ from the snapshot")
	}
	if got := digest(t, s.dir); !reflect.DeepEqual(got, wantDB) {
		t.Fatal("rows after the pending restore differ from the snapshot")
	}
	if _, err := os.Stat(filepath.Join(s.dir, PendingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("pending dir left after applying")
	}
	if _, _, applied, err := ApplyPending(ctx, s.dir, RestoreOptions{}); applied || err != nil {
		t.Fatalf("second apply: %v %v", applied, err)
	}
}
