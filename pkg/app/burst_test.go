package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// burstSize is the number of messages TestBurstFirstAttempt sends at once.
const burstSize = 200

// TestBurstFirstAttempt sends a burst of messages between two Reticle nodes
// over loopback TCP, with the router's production retry timings, and
// requires every message to be delivered (its proof received) on its first
// attempt: a lost packet or proof shows up as a second attempt.
func TestBurstFirstAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("burst test skipped with -short")
	}
	for _, method := range []string{MethodDirect, MethodOpportunistic} {
		t.Run(method, func(t *testing.T) {
			addr := freeAddr(t)
			srv := startLoopNodeLinks(t, "server", true, "tcp-server://"+addr)
			defer srv.close()
			cli := startLoopNodeLinks(t, "client", true, "tcp-client://"+addr)
			defer cli.close()
			introduce(t, srv, cli)
			got := sendBurst(t, cli, srv, burstSize, 90*time.Second, method)
			retried := 0
			for _, m := range got {
				if m.State != store.StateDelivered || m.Attempts != 1 {
					retried++
					if retried <= 10 {
						t.Errorf("message %s: state %s after %d attempts (%s)", m.ID, m.State, m.Attempts, m.Error)
					}
				}
			}
			if retried > 0 {
				t.Fatalf("%d of %d messages were not delivered on their first attempt", retried, len(got))
			}
		})
	}
}

// sendBurst sends n messages from a to b at once and waits (bounded by
// timeout) until all of them are delivered or failed; it returns a's stored
// view of them.
func sendBurst(tb testing.TB, a, b *loopNode, n int, timeout time.Duration, method string) []Message {
	tb.Helper()
	ctx := context.Background()
	to := b.app.Identity(ctx).Address
	ids := make(map[string]bool, n)
	for i := range n {
		m, err := a.app.Send(ctx, SendRequest{To: to, Content: fmt.Sprintf("burst message %d", i), Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		ids[m.ID] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		ms, err := a.app.listAll(ctx, to)
		if err != nil {
			tb.Fatal(err)
		}
		var out []Message
		done := 0
		for _, m := range ms {
			if !ids[m.ID] || m.Direction != store.DirectionOut {
				continue
			}
			out = append(out, m)
			if m.State == store.StateDelivered || m.State == store.StateFailed {
				done++
			}
		}
		if done == n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}
