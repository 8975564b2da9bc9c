package interop

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	lxapp "github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestLXMFRates measures opportunistic messages per second between Reticle
// and the Python LXMF router on this machine, both ways, for comparison
// with BenchmarkOpportunisticLoopback (pkg/app). It only logs; run it with
// RETICLE_LXMF_RATES=1 go test -run LXMFRates -v ./test/interop
func TestLXMFRates(t *testing.T) {
	if os.Getenv("RETICLE_LXMF_RATES") != "1" {
		t.Skip("set RETICLE_LXMF_RATES=1 to measure")
	}
	requireLXMF(t)
	const n = 100
	port := freePort(t)
	rt := startLXMFNode(t, "reticle", router.Options{}, fmt.Sprintf("tcp-server://127.0.0.1:%d", port))
	py, ready := startLXMFPeer(t, "pyrate", clientSection(port))
	pyAddr := ready.str("address")
	ctx := context.Background()
	me := rt.app.Identity(ctx)
	exchangeAnnounces(t, rt, py, pyAddr)

	start := time.Now()
	ids := make([]string, 0, n)
	for i := range n {
		m, err := rt.app.Send(ctx, lxapp.SendRequest{To: pyAddr, Content: fmt.Sprintf("rate %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, id := range ids {
		if m := rt.waitState(t, id, 120*time.Second); m.State != store.StateDelivered {
			t.Fatalf("message %s: %s", id, m.State)
		}
	}
	el := time.Since(start)
	t.Logf("reticle -> python: %d messages delivered (proven) in %v: %.0f msgs/s", n, el, float64(n)/el.Seconds())

	start = time.Now()
	for i := range n {
		py.send(map[string]any{"cmd": "send", "to": me.Address, "content": fmt.Sprintf("rate %d", i), "id": 1000 + i})
	}
	for i := range n {
		id := 1000 + i
		q := py.wait(60*time.Second, func(e event) bool { return e.str("event") == "send_queued" && e.num("id") == id })
		if q == nil {
			t.Fatalf("python did not queue %d", id)
		}
		if st := py.wait(180*time.Second, isEvent("send_state", "hash", q.str("hash"))); st == nil || st.str("state") != "delivered" {
			t.Fatalf("python message %d: %v", id, st)
		}
	}
	el = time.Since(start)
	t.Logf("python -> reticle: %d messages delivered (proven) in %v: %.1f msgs/s", n, el, float64(n)/el.Seconds())
}

// TestLXMFBurstFirstAttempt: 200-message bursts each way between Reticle and the Python LXMF router, both
// opportunistic and direct, with production retry timings. Every message must be delivered and proven on
// its first attempt: a retry here means a message or its proof was lost under load, the bug users see as
// "stuck in delivery". Bounded by the per-message waits, not timed.
func TestLXMFBurstFirstAttempt(t *testing.T) {
	requireLXMF(t)
	const n = 200
	port := freePort(t)
	rt := startLXMFNode(t, "reticle", router.Options{}, fmt.Sprintf("tcp-server://127.0.0.1:%d", port))
	py, ready := startLXMFPeer(t, "pyburst", clientSection(port))
	pyAddr := ready.str("address")
	ctx := context.Background()
	me := rt.app.Identity(ctx)
	exchangeAnnounces(t, rt, py, pyAddr)

	for _, method := range []string{lxapp.MethodOpportunistic, lxapp.MethodDirect} {
		t.Run("reticle to python "+method, func(t *testing.T) {
			start := time.Now()
			ids := make([]string, 0, n)
			for i := range n {
				m, err := rt.app.Send(ctx, lxapp.SendRequest{To: pyAddr, Content: fmt.Sprintf("%s burst %d", method, i), Method: method})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, m.ID)
			}
			for _, id := range ids {
				m := rt.waitState(t, id, 60*time.Second)
				if m.State != store.StateDelivered || m.Attempts != 1 {
					t.Fatalf("message %s: state %s after %d attempts; want delivered on the first", id, m.State, m.Attempts)
				}
			}
			t.Logf("reticle -> python %s: %d delivered on the first attempt in %v", method, n, time.Since(start))
		})
		t.Run("python to reticle "+method, func(t *testing.T) {
			start := time.Now()
			base := 10000
			if method == lxapp.MethodDirect {
				base = 20000
			}
			for i := range n {
				py.send(map[string]any{"cmd": "send", "to": me.Address, "content": fmt.Sprintf("%s burst %d", method, i), "id": base + i, "method": method})
			}
			for i := range n {
				id := base + i
				q := py.wait(60*time.Second, func(e event) bool { return e.str("event") == "send_queued" && e.num("id") == id })
				if q == nil {
					t.Fatalf("python did not queue %d", id)
				}
				st := py.wait(60*time.Second, isEvent("send_state", "hash", q.str("hash")))
				// The reference counts no attempt for a message sent on a link that is already up.
				if st == nil || st.str("state") != "delivered" || st.num("attempts") > 1 {
					t.Fatalf("python message %d: %v; want delivered on the first attempt", id, st)
				}
				if m, ok := rt.message(t, q.str("hash")); !ok || m.Direction != "in" || !m.Verified {
					t.Fatalf("reticle did not store python message %d: %+v", id, m)
				}
			}
			t.Logf("python -> reticle %s: %d delivered on the first attempt in %v", method, n, time.Since(start))
		})
	}
}
