package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestAtRestRecordRoundTripAndUpgrade(t *testing.T) {
	ctx := context.Background()
	s, p := openTemp(t, 5) // a database from before the record
	closeStore(t, s)
	s, err := Open(ctx, Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	if b, err := s.LoadAtRestRecord(ctx); err != nil || b != nil {
		t.Fatalf("fresh: %q %v", b, err)
	}
	for _, want := range [][]byte{[]byte(`{"version":1}`), []byte(`{"version":1,"files":{}}`)} {
		if err := s.SaveAtRestRecord(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadAtRestRecord(ctx)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("load %q %v, want %q", got, err, want)
		}
	}
	var n int64
	if err := s.db.Table("at_rest_record").Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("%d rows, %v", n, err)
	}
}

// TestFileModes: the database and its -wal and -shm are 0600 under a permissive umask, for a new
// database and for one left 0644 by an earlier version.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, existing := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "reticle.db")
		if existing {
			s, err := Open(context.Background(), Options{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			closeStore(t, s)
			for _, f := range []string{p, p + "-wal", p + "-shm"} {
				_ = os.Chmod(f, 0o644)
			}
		}
		s, err := Open(context.Background(), Options{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetSetting(context.Background(), "k", "v"); err != nil { // makes SQLite write the WAL
			t.Fatal(err)
		}
		for _, f := range []string{p, p + "-wal", p + "-shm"} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatalf("existing %v: %v", existing, err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("existing %v: %s is %v, want 0600", existing, filepath.Base(f), st.Mode().Perm())
			}
		}
		closeStore(t, s)
	}
}
