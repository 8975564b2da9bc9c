package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// TestHostilePeersCannotExceedBudget has three attacker identities push large direct messages (each a
// link resource) at a victim over loopback TCP. The victim's stored inbound bytes never pass its total
// budget, each attacker is held to its hourly budget, the refusals are counted, and the owner still
// reads what was stored.
func TestHostilePeersCannotExceedBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback budget test skipped with -short")
	}
	const (
		content   = 150 << 10 // one message stores title+content+packed: about 300 KiB
		total     = 1500 << 10
		peerHour  = 700 << 10
		attackers = 3
		perPeer   = 4
	)
	addr := freeAddr(t)
	victimDir := t.TempDir()
	victim := startLoopNodeIn(t, victimDir, "victim", true, Options{Budget: BudgetOptions{
		TotalBytes: total, PeerHourBytes: peerHour, PeerDayBytes: 4 * peerHour,
	}}, "tcp-server://"+addr)
	defer victim.close()
	ctx := context.Background()
	to := victim.app.Identity(ctx).Address
	sent := 0
	for i := range attackers {
		atk := startLoopNodeOpts(t, fmt.Sprintf("attacker%d", i), true, Options{MaxContent: 1 << 20}, "tcp-client://"+addr)
		defer atk.close()
		introduce(t, victim, atk)
		for range perPeer {
			// Random text: it must not compress, or the advertised size says nothing about the stored one.
			raw := make([]byte, content/2)
			if _, err := rand.Read(raw); err != nil {
				t.Fatal(err)
			}
			body := hex.EncodeToString(raw)
			if _, err := atk.app.Send(ctx, SendRequest{To: to, Content: body, Method: MethodDirect}); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	// Every message is either stored or refused at least once (at its advertisement or after transfer).
	var info StorageInfo
	var stored int
	for range 600 {
		info = victim.app.Storage(ctx)
		page, err := victim.app.ListMessages(ctx, MessageQuery{Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		stored = len(page.Items)
		r := info.Refused
		if uint64(stored)+r.Advertisements+r.TotalBudget+r.PeerHour >= uint64(sent) && r.PeerHour > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stored %d of %d messages, storage %+v", stored, sent, info)
	used, err := victim.st.InboundBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if used > total {
		t.Fatalf("stored inbound bytes %d exceed the budget %d", used, total)
	}
	if stored == 0 || stored >= sent {
		t.Fatalf("stored %d of %d: the budget did not bite", stored, sent)
	}
	if info.Refused.Advertisements+info.Refused.TotalBudget == 0 || info.Refused.PeerHour == 0 {
		t.Fatalf("refusals %+v: want refusals by the total and the hourly peer budget", info.Refused)
	}
	// No attacker has more stored than its hourly budget.
	perSource := map[string]int64{}
	rows, err := victim.st.InboundSince(ctx, time.Now().Add(-time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		perSource[r.Peer] += r.Bytes
	}
	for p, n := range perSource {
		if n > peerHour {
			t.Errorf("peer %s has %d bytes stored, over its hourly budget %d", p, n, peerHour)
		}
	}
	contentMB := float64(stored*content) / (1 << 20)
	t.Logf("data dir before checkpoint: %d bytes, %.2f bytes per byte of content", dirBytes(t, victimDir), float64(dirBytes(t, victimDir))/(contentMB*(1<<20)))
	if err := victim.st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("data dir after checkpoint: %d bytes, %.2f bytes per byte of content", dirBytes(t, victimDir), float64(dirBytes(t, victimDir))/(contentMB*(1<<20)))
	// The data dir stays near the budget (the database's own pages and identities on top).
	if n := dirBytes(t, victimDir); n > total+total/2+512<<10 {
		t.Errorf("data dir holds %d bytes for a budget of %d", n, total)
	}
	if info.InboundBytes > total || info.InboundBudgetBytes != total {
		t.Errorf("storage info %+v", info)
	}
	// The owner deletes the attackers' conversations, and the stored bytes are gone.
	for p := range perSource {
		if err := victim.app.DeleteConversation(ctx, p); err != nil {
			t.Fatalf("delete conversation %s: %v", p, err)
		}
	}
	if used, err := victim.st.InboundBytes(ctx); err != nil || used != 0 {
		t.Fatalf("inbound bytes after deleting every conversation: %d, %v", used, err)
	}
}
