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
