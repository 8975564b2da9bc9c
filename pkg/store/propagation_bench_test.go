package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// BenchmarkPropagationAtScale seeds a propagation node's store with RETICLE_BENCH_PROP_MESSAGES
// messages (default 10,000; the target for a community node is 1,000,000) for RETICLE_BENCH_PROP_RECIPIENTS
// recipients (default count/100), then measures on that store what a node does: uploads one at a time
// through InsertPropagationMessage (the ingest rate), the listing for one recipient, an eviction of
// 1% of the store by the storage limit, an expiry of the oldest 10%, and the disk used. It runs on
// SQLite, and on PostgreSQL too when RETICLE_TEST_DATABASE is set. Run it once per backend:
//
//	RETICLE_BENCH_PROP_MESSAGES=1000000 go test -run '^$' -bench PropagationAtScale -benchtime 1x ./pkg/store/
func BenchmarkPropagationAtScale(b *testing.B) {
	n := benchEnv("RETICLE_BENCH_PROP_MESSAGES", 10_000)
	recipients := benchEnv("RETICLE_BENCH_PROP_RECIPIENTS", max(1, n/100))
	const size = 600 // bytes: a short LXMF message with its stamp
	backends := []string{"sqlite"}
	if testkit.UsesPostgres() {
		backends = append(backends, "postgres")
	}
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			for range b.N {
				benchPropagation(b, backend, n, recipients, size)
			}
		})
	}
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchPropagation(b *testing.B, backend string, n, recipients, size int) {
	ctx := context.Background()
	p := filepath.Join(b.TempDir(), "reticle.db")
	o := Options{Path: p}
	if backend == "postgres" {
		o.Database = testkit.Database(b, p)
	}
	s, err := Open(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	msg := func(i int) PropagationMessage {
		id := sha256.Sum256([]byte(strconv.Itoa(i)))
		return PropagationMessage{TransientID: hex.EncodeToString(id[:]), Destination: fmt.Sprintf("%032x", i%recipients),
			Data: payload, Size: int64(size), ReceivedAt: t0.Add(time.Duration(i) * time.Second)}
	}

	// Seed in batches (a node fills up over months, not in this run).
	b.StopTimer()
	seedStart := time.Now()
	const batch = 1000
	rows := make([]PropagationMessage, 0, batch)
	for i := 0; i < n; i++ {
		rows = append(rows, msg(i))
		if len(rows) == batch || i == n-1 {
			if err := s.db.WithContext(ctx).CreateInBatches(rows, batch).Error; err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	seed := time.Since(seedStart)
	// Write the seed out first (SQLite: fold the WAL; PostgreSQL: a checkpoint, if the role may), so the
	// uploads below are not measured against the bulk load's pending I/O.
	if err := s.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	if s.pg {
		if err := s.db.WithContext(ctx).Exec("CHECKPOINT").Error; err != nil {
			b.Logf("postgres: no CHECKPOINT (%v); uploads run against the seed's pending writes", err)
		}
	}
	b.StartTimer()

	// Ingest: uploads one at a time, each in its own transaction with the limit check, as the node does.
	// The first one after start also sums the held bytes once (the running total).
	const uploads = 500
	limit := int64(n+uploads+2) * int64(size)
	start := time.Now()
	first := msg(n)
	if _, err := s.InsertPropagationMessage(ctx, &first, limit); err != nil {
		b.Fatal(err)
	}
	firstUpload := time.Since(start)
	n++
	start = time.Now()
	for i := n; i < n+uploads; i++ {
		m := msg(i)
		if _, err := s.InsertPropagationMessage(ctx, &m, limit); err != nil {
			b.Fatal(err)
		}
	}
	ingest := time.Since(start)
	total := n + uploads

	// Listing for one recipient (what a client's sync asks first).
	start = time.Now()
	ls, err := s.ListPropagationMessages(ctx, fmt.Sprintf("%032x", 7%recipients), 0)
	if err != nil || len(ls) == 0 {
		b.Fatalf("list: %d, %v", len(ls), err)
	}
	list := time.Since(start)

	// Eviction: one upload under a limit 1% below the held bytes evicts the oldest 1%.
	evictN := max(1, total/100)
	m := msg(total)
	start = time.Now()
	res, err := s.InsertPropagationMessage(ctx, &m, int64(total+1-evictN)*int64(size))
	if err != nil || res.Evicted < evictN {
		b.Fatalf("evict: %+v, %v", res, err)
	}
	evict := time.Since(start)

	// Expiry of the oldest 10%.
	start = time.Now()
	expired, err := s.ExpirePropagationMessages(ctx, t0.Add(time.Duration(total/10)*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	expire := time.Since(start)
	b.StopTimer()

	disk, err := s.diskBytes(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(uploads)/ingest.Seconds(), "uploads/s")
	b.ReportMetric(float64(list.Microseconds())/1000, "list_ms")
	b.ReportMetric(float64(evict.Milliseconds()), "evict_ms")
	b.ReportMetric(float64(expire.Milliseconds()), "expire_ms")
	b.ReportMetric(float64(disk)/(1<<20), "disk_MB")
	b.Logf("%s: %d messages (%d B) for %d recipients seeded in %s; first upload %s; %d uploads at %.0f/s; list of %d for one recipient %s; "+
		"evicting %d took %s; expiring %d took %s; disk %.1f MB",
		backend, n-1, size, recipients, seed.Round(time.Millisecond), firstUpload.Round(time.Microsecond), uploads,
		float64(uploads)/ingest.Seconds(), len(ls),
		list.Round(time.Microsecond), res.Evicted, evict.Round(time.Millisecond), expired, expire.Round(time.Millisecond),
		float64(disk)/(1<<20))
}

// diskBytes is what the store occupies: the SQLite file and its WAL after a checkpoint, or the
// PostgreSQL tables of the store's schema with their indexes and TOAST.
func (s *Store) diskBytes(ctx context.Context, path string) (int64, error) {
	if s.pg {
		var n int64
		err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`).Scan(&n).Error
		return n, err
	}
	if err := s.Checkpoint(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, f := range []string{path, path + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n, nil
}
