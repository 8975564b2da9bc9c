package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/auth"
)

// TestLoginLoadBounded runs 10k login attempts over real HTTP on loopback, from many fake client addresses
// forwarded by a trusted proxy (127.0.0.1), and checks that the limiter holds (few password checks, the
// rest 429) and that memory stays bounded. It reports attempts/s, limiter entries and heap use.
func TestLoginLoadBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	attempts, workers := 10000, 8
	if raceEnabled {
		attempts = 2000
	}
	cases := []struct {
		name    string
		clients int // distinct forwarded addresses, used round-robin
		mod     func(*auth.Options)
		check   func(t *testing.T, res loadResult)
	}{
		{"broad attack, default limits", attempts, nil, func(t *testing.T, r loadResult) {
			// The global brake closes login to untrusted clients after 50 failures: only a handful of
			// password checks ever run (a few more can be in flight when the brake engages).
			if r.status[401] < 50 || r.status[401] > 50+workers {
				t.Errorf("%d password checks, want 50..%d", r.status[401], 50+workers)
			}
		}},
		{"repeat offenders, no global brake", attempts / 10, func(o *auth.Options) {
			o.Limits = auth.DefaultLimits()
			o.Limits.GlobalFailThreshold = 0
		}, func(t *testing.T, r loadResult) {
			// Each address gets 5 of its 10 attempts checked, then it is locked out.
			if r.status[401] != attempts/2 || r.status[429] != attempts/2 {
				t.Errorf("statuses %v, want %d x 401 and %d x 429", r.status, attempts/2, attempts/2)
			}
		}},
		{"unique addresses, 1000-key cap, no global brake", attempts, func(o *auth.Options) {
			o.Limits = auth.DefaultLimits()
			o.Limits.GlobalFailThreshold = 0
			o.Limits.MaxKeys = 1000
		}, func(t *testing.T, r loadResult) {
			if r.keys > 1000 || r.evictions == 0 {
				t.Errorf("limiter keys %d (evictions %d), want capped at 1000", r.keys, r.evictions)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAuthEnv(t, Options{Listen: "127.0.0.1:0", TrustedProxies: trustedLoopback()}, tc.mod)
			e.setup(t)
			if err := e.srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.srv.Close() }()
			if err := e.auth.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.auth.Close() }()
			res := runLoginLoad(t, e, attempts, workers, tc.clients)
			t.Logf("%d attempts in %v = %.0f attempts/s; statuses %v; limiter keys %d (evictions %d); heap %.1f MiB -> %.1f MiB; attempt log rows %d",
				attempts, res.elapsed.Round(time.Millisecond), float64(attempts)/res.elapsed.Seconds(), res.status,
				res.keys, res.evictions, float64(res.heapBefore)/(1<<20), float64(res.heapAfter)/(1<<20), res.logRows)
			for code := range res.status {
				if code != 401 && code != 429 {
					t.Errorf("unexpected status %d x%d", code, res.status[code])
				}
			}
			if res.heapAfter > res.heapBefore+32<<20 {
				t.Errorf("heap grew by %d bytes", res.heapAfter-res.heapBefore)
			}
			if res.logRows > 5000 || res.logRows < int64(min(attempts, 5000))/2 {
				t.Errorf("attempt log holds %d rows, want about min(attempts, 5000)", res.logRows)
			}
			tc.check(t, res)
		})
	}
}

type loadResult struct {
	elapsed               time.Duration
	status                map[int]int
	keys                  int
	evictions             uint64
	heapBefore, heapAfter uint64
	logRows               int64
}

func runLoginLoad(t *testing.T, e *authEnv, attempts, workers, clients int) loadResult {
	t.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res := loadResult{status: map[int]int{}, heapBefore: ms.HeapAlloc}
	url := "http://" + e.srv.Addr() + "/api/v1/auth/login"
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	jobs := make(chan int, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				n := i % clients
				hr, _ := http.NewRequest("POST", url, strings.NewReader(`{"password":"not the password"}`))
				hr.Header.Set("Content-Type", "application/json")
				hr.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16, (n>>8)&255, n&255))
				resp, err := client.Do(hr)
				code := -1
				if err == nil {
					code = resp.StatusCode
					_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
					_ = resp.Body.Close()
				}
				mu.Lock()
				res.status[code]++
				mu.Unlock()
			}
		})
	}
	for i := range attempts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.heapAfter = ms.HeapAlloc
	st := e.auth.LimiterStats()
	res.keys, res.evictions = st.Keys, st.Evictions
	if _, err := e.auth.Attempts(context.Background(), 1); err != nil { // flushes the batched log
		t.Fatal(err)
	}
	res.logRows, _ = e.st.CountLoginAttempts(context.Background())
	return res
}
