package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestBlockDropsMessagesAndAnnounces blocks bob on alice: bob's next message is not stored and not
// proven (it stays undelivered on bob's side), his announces no longer update alice's peers, and after
// unblocking his retried message arrives.
func TestBlockDropsMessagesAndAnnounces(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	_ = n.a.app.Announce(ctx)
	_ = n.b.app.Announce(ctx)
	n.step(0)
	alice, bob := n.a.app.Identity(ctx).Address, n.b.app.Identity(ctx).Address
	if _, err := n.b.app.Send(ctx, SendRequest{To: alice, Content: "before"}); err != nil {
		t.Fatal(err)
	}
	n.step(0)
	if _, err := n.a.app.Block(ctx, "00000000000000000000000000000000", false); !errors.Is(err, ErrUnknownIdentity) {
		t.Fatalf("blocking an unknown address: %v", err)
	}
	b, err := n.a.app.Block(ctx, bob, true)
	if err != nil || b.Address != bob || b.IdentityHash == "" {
		t.Fatalf("block %+v, %v", b, err)
	}
	if in, _ := n.a.app.listAll(ctx, bob); len(in) != 0 {
		t.Fatalf("conversation not deleted: %d messages", len(in))
	}
	m, err := n.b.app.Send(ctx, SendRequest{To: alice, Content: "after", Method: MethodOpportunistic})
	if err != nil {
		t.Fatal(err)
	}
	n.step(0)
	if in, _ := n.a.app.listAll(ctx, bob); len(in) != 0 {
		t.Fatalf("blocked message stored: %+v", in)
	}
	if out, _ := n.b.app.listAll(ctx, alice); out[len(out)-1].ID != m.ID || out[len(out)-1].State == store.StateDelivered {
		t.Fatalf("blocked message was proven: %+v", out[len(out)-1])
	}
	before, _ := n.a.st.GetPeer(ctx, bob)
	n.clock.Advance(time.Minute)
	_ = n.b.app.Announce(ctx)
	n.step(0)
	if after, _ := n.a.st.GetPeer(ctx, bob); !after.LastSeen.Equal(before.LastSeen) {
		t.Fatalf("blocked announce recorded: last seen %v -> %v", before.LastSeen, after.LastSeen)
	}
	if bs, _ := n.a.app.ListBlocks(ctx); len(bs) != 1 {
		t.Fatalf("blocks %+v", bs)
	}
	if yes, err := n.a.app.IsBlocked(ctx, bob); !yes || err != nil {
		t.Fatalf("IsBlocked(bob) = %v, %v", yes, err)
	}
	if yes, err := n.a.app.IsBlocked(ctx, b.IdentityHash); !yes || err != nil {
		t.Fatalf("IsBlocked(bob's identity hash) = %v, %v", yes, err)
	}
	if yes, err := n.a.app.IsBlocked(ctx, alice); yes || err != nil {
		t.Fatalf("IsBlocked(alice) = %v, %v", yes, err)
	}
	if _, err := n.a.app.IsBlocked(ctx, "not-an-address"); err == nil {
		t.Fatal("IsBlocked accepted a malformed address")
	}
	if err := n.a.app.Unblock(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if yes, _ := n.a.app.IsBlocked(ctx, bob); yes {
		t.Fatal("still blocked after Unblock")
	}
	if err := n.a.app.Unblock(ctx, bob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second unblock: %v", err)
	}
	for range 10 {
		n.step(time.Minute)
		if in, _ := n.a.app.listAll(ctx, bob); len(in) == 1 && in[0].ID == m.ID {
			return
		}
	}
	out, _ := n.b.app.listAll(ctx, alice)
	t.Fatalf("after unblocking, the retried message never arrived: %+v", out[len(out)-1])
}
