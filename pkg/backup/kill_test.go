//go:build unix

package backup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestKilledSnapshotLeavesNoValidPartial runs a snapshot in a child process, kills it with SIGKILL
// while it is writing the archive, and checks that every temp file it left is refused by the verifier.
func TestKilledSnapshotLeavesNoValidPartial(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSnapshotChild$") //nolint:gosec // G204: the test binary itself
	cmd.Env = append(os.Environ(), "RETICLE_BACKUP_CHILD="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) until the child's temp archive exists and has grown past its first megabyte.
	var partial string
	deadline := time.Now().Add(60 * time.Second)
	for partial == "" && time.Now().Before(deadline) {
		ms, _ := filepath.Glob(filepath.Join(dir, "out", ".tmp-*"))
		for _, m := range ms {
			if st, err := os.Stat(m); err == nil && st.Size() > 1<<20 {
				partial = m
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if partial == "" {
		t.Fatal("the child never wrote a partial archive")
	}
	// The partial seen may have been completed and renamed meanwhile; check the ones left at the kill.
	left, _ := filepath.Glob(filepath.Join(dir, "out", ".tmp-*"))
	if len(left) == 0 {
		t.Skip("the child was between two archives when killed; nothing partial to check")
	}
	for _, p := range left {
		if _, err := Verify(p, Limits{}); !IsInvalid(err) {
			t.Fatalf("verifier accepted a killed snapshot's partial %s: %v", p, err)
		}
	}
}

// TestHelperSnapshotChild is the child of TestKilledSnapshotLeavesNoValidPartial: it seeds a data dir
// with 64 MiB of attachments and snapshots it until killed.
func TestHelperSnapshotChild(t *testing.T) {
	base := os.Getenv("RETICLE_BACKUP_CHILD")
	if base == "" {
		t.Skip("only runs as a child process")
	}
	s := seed(t, 5)
	var atts []store.Attachment
	for i := range 64 {
		b := randBytes(t, 1<<20)
		b[0] = byte(i)
		h := strings.Repeat("0", 62) + string("0123456789abcdef"[i/16]) + string("0123456789abcdef"[i%16])
		writeFile(t, s.dir, "attachments/"+h, b)
		atts = append(atts, store.Attachment{Idx: i, Kind: store.KindFile, Name: "big.bin", Hash: h, Size: int64(len(b))})
	}
	// Snapshots hold only the attachments a message refers to.
	m := &store.Message{MessageID: strings.Repeat("f", 64), Direction: store.DirectionIn, Peer: strings.Repeat("e", 32),
		State: store.StateReceived, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}
	if _, err := s.st.InsertMessage(context.Background(), m, atts...); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := Create(context.Background(), s.st, s.dir, filepath.Join(base, "out", "snap.zip"), CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(filepath.Join(base, "out", "snap.zip"))
	}
}
