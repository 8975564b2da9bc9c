package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestRoundTrip snapshots a data dir with messages, attachments and identities, restores it into an
// empty dir (a new machine) and into the wiped original, and compares every row, file and byte.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 60)
	want := tree(t, s.dir)
	wantDB, err := s.st.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.zip")
	m, err := Create(ctx, s.st, s.dir, out, CreateOptions{Version: "test", Reason: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 60 || m.SchemaVersion != store.LatestSchemaVersion() || m.ReticleVersion != "test" {
		t.Fatalf("manifest = %+v", m)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(s.dir, ".snapshot-*")); len(leftovers) > 0 {
		t.Fatalf("work dirs left behind: %v", leftovers)
	}
	if _, err := Verify(out, Limits{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	fresh := t.TempDir()
	if _, saved, err := Restore(ctx, out, fresh, RestoreOptions{}); err != nil || saved != "" {
		t.Fatalf("restore into an empty dir: saved %q, %v", saved, err)
	}
	if got := tree(t, fresh); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored files differ: got %d files, want %d", len(got), len(want))
	}
	if got := digest(t, fresh); !reflect.DeepEqual(got, wantDB) {
		t.Fatalf("restored rows differ:\n got %v\nwant %v", got, wantDB)
	}

	// Restoring over existing (different) data replaces it and keeps a pre-restore snapshot of it.
	if err := s.st.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.dir, "identities/lxmf", []byte("a different key"))
	writeFile(t, s.dir, "attachments/"+strings.Repeat("0", 64), []byte("stray"))
	st := openStore(t, s.dir)
	insertMessages(t, s.dir, st, 1000, 5)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	_, saved, err := Restore(ctx, out, s.dir, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, s.dir); !reflect.DeepEqual(got, want) {
		t.Fatal("files after restoring over old data differ from the snapshot")
	}
	if got := digest(t, s.dir); !reflect.DeepEqual(got, wantDB) {
		t.Fatal("rows after restoring over old data differ from the snapshot")
	}
	pre, err := Verify(filepath.Join(s.dir, SnapshotsDir, saved), Limits{})
	if err != nil || pre.Messages != 65 || pre.Reason != "prerestore" {
		t.Fatalf("pre-restore snapshot %q: %+v, %v", saved, pre, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(s.dir, ".restore*")); len(leftovers) > 0 {
		t.Fatalf("staging dirs left behind: %v", leftovers)
	}
}

// TestSnapshotWhileWriting takes snapshots while another goroutine keeps inserting messages: each
// snapshot verifies, restores, and holds a consistent prefix of the messages.
func TestSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 100; i < 100+2000; i++ { // bounded
			select {
			case <-stop:
				return
			default:
			}
			insertMessages(t, s.dir, s.st, i, 1)
		}
	}()
	for i := range 3 {
		out := filepath.Join(t.TempDir(), "b.zip")
		m, err := Create(ctx, s.st, s.dir, out, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		if _, _, err := Restore(ctx, out, dst, RestoreOptions{}); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		st, err := store.Open(ctx, store.Options{Path: filepath.Join(dst, DatabaseFile)})
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.MessageCount(ctx)
		if err != nil || n != m.Messages || n < 10 {
			t.Fatalf("restored %d messages, manifest says %d: %v", n, m.Messages, err)
		}
		_ = st.Close()
	}
	close(stop)
	wg.Wait()
}

// TestTruncatedArchivesRefused cuts a valid archive at many lengths: every cut is refused, and staging
// leaves nothing behind.
func TestTruncatedArchivesRefused(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 30)
	out := filepath.Join(t.TempDir(), "b.zip")
	if _, err := Create(ctx, s.st, s.dir, out, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(out) //nolint:gosec // test
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for i := range 24 {
		n := len(full) * i / 24
		cut := filepath.Join(t.TempDir(), "cut.zip")
		if err := os.WriteFile(cut, full[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(cut, Limits{}); !IsInvalid(err) {
			t.Fatalf("cut at %d/%d: verify = %v, want invalid", n, len(full), err)
		}
		if _, _, err := Restore(ctx, cut, dst, RestoreOptions{}); !IsInvalid(err) {
			t.Fatalf("cut at %d: restore = %v", n, err)
		}
	}
	if got := listAll(t, dst); len(got) != 1 {
		t.Fatalf("refused restores wrote %v", got)
	}
	// A flipped byte anywhere in the database member is caught (CRC or SHA-256).
	bad := slices.Clone(full)
	bad[len(bad)/3] ^= 0xff
	p := filepath.Join(t.TempDir(), "flip.zip")
	if err := os.WriteFile(p, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(p, Limits{}); !IsInvalid(err) {
		t.Fatalf("flipped byte: verify = %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new.zip")
	buildZip(t, p, []member{{name: DatabaseFile, data: []byte("x")}}, func(m *Manifest) { m.SchemaVersion = store.LatestSchemaVersion() + 1 })
	_, err := Verify(p, Limits{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
}

func TestLockRefusesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second lock: want ErrRunning, got %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = l2.Release()
}

// TestSnapshotAttachmentsMatchDatabase checks that an archive holds exactly the attachment files its
// database copy refers to: a stray file (written after the copy, or left over) is not taken, and a
// referenced file that is gone from the disk is named in the manifest instead of silently missing.
func TestSnapshotAttachmentsMatchDatabase(t *testing.T) {
	ctx := context.Background()
	s := seed(t, 9) // attachments on messages 0, 3 and 6
	stray := "attachments/" + strings.Repeat("a", 64)
	writeFile(t, s.dir, stray, []byte("no message refers to this"))
	refs, err := s.st.AttachmentHashes(ctx)
	if err != nil || len(refs) != 3 {
		t.Fatalf("seeded attachment refs = %v, %v", refs, err)
	}
	var lost string
	for h := range refs {
		lost = h
		break
	}
	if err := os.Remove(filepath.Join(s.dir, AttachmentDir, lost)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.zip")
	m, err := Create(ctx, s.st, s.dir, out, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.MissingAttachments, []string{lost}) {
		t.Fatalf("missing_attachments = %v, want [%s]", m.MissingAttachments, lost)
	}
	v, err := Verify(out, Limits{})
	if err != nil || !slices.Equal(v.MissingAttachments, []string{lost}) {
		t.Fatalf("verify: %v, missing %v", err, v.MissingAttachments)
	}
	var atts []string
	for _, f := range m.Files {
		if strings.HasPrefix(f.Name, AttachmentDir+"/") {
			atts = append(atts, strings.TrimPrefix(f.Name, AttachmentDir+"/"))
		}
	}
	for _, h := range atts {
		if !refs[h] || h == lost {
			t.Fatalf("archive holds attachment %s (stray or lost)", h)
		}
	}
	if len(atts) != 2 {
		t.Fatalf("archive holds %d attachments, want the 2 present and referenced", len(atts))
	}
}
