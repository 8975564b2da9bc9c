package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestDefaultDisplayName(t *testing.T) {
	var h wire.Hash
	h[0], h[1] = 0x5f, 0x3a
	if got := DefaultDisplayName(h); got != "Reticle 5f3a" {
		t.Fatalf("got %q", got)
	}
}

func TestJitterStaysWithinATenth(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jittered(time.Hour)
		if d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jittered %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("no jitter")
	}
	if jittered(0) != 0 {
		t.Fatal("zero interval changed")
	}
}

// TestAnnounceOnInterfaceUp: neither node announces at start nor is asked to; a client interface added
// at runtime comes up, and each side learns the other from the announces that event triggers.
func TestAnnounceOnInterfaceUp(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback tcp")
	}
	addr := freeAddr(t)
	hub := startLoopNodeLinks(t, "hub", false, "tcp-server://"+addr)
	defer hub.close()
	fresh := startLoopNodeLinks(t, "", false) // no display name set
	defer fresh.close()
	ctx := context.Background()
	freshID := fresh.app.Identity(ctx)
	if want := "Reticle " + freshID.Address[:4]; freshID.DisplayName != want {
		t.Fatalf("default name %q, want %q", freshID.DisplayName, want)
	}
	if len(freshID.PublicKey) != 128 || len(freshID.IdentityHash) != 32 || freshID.IdentityHash == freshID.Address {
		t.Fatalf("identity %+v", freshID)
	}
	events, unsub := fresh.app.Events().Subscribe(64)
	defer unsub()
	if _, err := fresh.node.AddInterface("tcp-client://" + addr); err != nil {
		t.Fatal(err)
	}
	// The websocket's interface event: the new interface came up.
	deadline := time.After(10 * time.Second)
	for up := false; !up; {
		select {
		case ev := <-events:
			up = ev.Kind == EventInterface && ev.State == "up" && strings.HasPrefix(ev.Interface, "tcp-client")
		case <-deadline:
			t.Fatal("no interface event for the new interface coming up")
		}
	}
	peerName := func(n *loopNode, addr string) string {
		ps, _ := n.app.ListPeers(ctx, PeerQuery{Limit: MaxLimit})
		for _, p := range ps.Items {
			if p.Address == addr {
				return p.DisplayName
			}
		}
		return ""
	}
	hubAddr := hub.app.Identity(ctx).Address
	for range 1000 {
		if peerName(hub, freshID.Address) != "" && peerName(fresh, hubAddr) != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := peerName(hub, freshID.Address); !strings.HasPrefix(got, "Reticle ") {
		t.Fatalf("hub never heard the fresh node (name %q)", got)
	}
	if got := peerName(fresh, hubAddr); got != "hub" {
		t.Fatalf("fresh node never heard the hub (name %q)", got)
	}
}
