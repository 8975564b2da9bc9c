//go:build unix

package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// BenchmarkSnapshot100k snapshots a database of 100,000 messages (each ~200 bytes of content) and
// reports the archive size and the process's peak RSS (seeding included, so it is an upper bound).
func BenchmarkSnapshot100k(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, DatabaseFile)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	body := make([]byte, 200)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	for i := range 100_000 {
		m := &store.Message{MessageID: fmt.Sprintf("%064x", i), Direction: store.DirectionIn, Peer: fmt.Sprintf("%032x", i%50),
			Content: body, Timestamp: float64(i), State: store.StateReceived, CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
		if _, err := st.InsertMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var size int64
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprintf("snap-%d.zip", i))
		if _, err := Create(ctx, st, dir, out, CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if fi, err := os.Stat(out); err == nil {
			size = fi.Size()
		}
		_ = os.Remove(out)
	}
	b.StopTimer()
	b.ReportMetric(float64(size)/1e6, "MB/archive")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peakRSS_MB")
	}
}
