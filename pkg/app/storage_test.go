package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostilePeerStorageAndPages delivers about 100 MB (10 MB with -short; RETICLE_FLOOD_MB overrides)
// from one unknown peer, half as content and half as attachments, and checks that the data dir grows
// by at most 1.2x the content, and that no list answer grows past its page: every page's JSON stays
// within limit x (4 KiB content + 2 KiB preview + bounded metadata).
func TestHostilePeerStorageAndPages(t *testing.T) {
	mb := 100
	if testing.Short() {
		mb = 10
	}
	if v, err := strconv.Atoi(os.Getenv("RETICLE_FLOOD_MB")); err == nil && v > 0 {
		mb = v
	}
	n := newNet(t)
	ctx := context.Background()
	a := n.a.app
	before := dirBytes(t, n.a.dir)
	src := wire.Hash{1, 2, 3}
	payload := 0
	for i := range mb {
		blob := make([]byte, 1<<20)
		_, _ = rand.Read(blob)
		m := &lxmf.Message{Destination: a.r.Hash(), Source: src, Timestamp: float64(1_700_000_000 + i)}
		if i%2 == 0 {
			m.Content = []byte(fmt.Sprintf("%x", blob[:512<<10])) // 1 MiB of text
		} else {
			m.Content = []byte("file follows")
			m.Fields.SetAttachments([]lxmf.Attachment{{Name: "x.bin", Data: blob}})
		}
		m.ID = wire.FullHash{byte(i), byte(i >> 8), 9}
		payload += len(m.Content) + (1<<20)*(i%2)
		if err := (sink{a}).Deliver(ctx, router.Inbound{Message: m, Method: lxmf.MethodDirect, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	grown := dirBytes(t, n.a.dir) - before
	ratio := float64(grown) / float64(payload)
	t.Logf("data dir grew %d bytes for %d bytes of inbound content and attachments: %.3fx", grown, payload, ratio)
	if ratio > 1.2 {
		t.Fatalf("data dir grew %.3fx the content, want <= 1.2x", ratio)
	}
	// Page through everything; no answer exceeds its bound.
	const perRow = 4096*6 + 2000*6 + 8192 // JSON escaping of content and preview, plus metadata
	for _, limit := range []int{1, 50, 500} {
		q := MessageQuery{Peer: src.String(), Limit: limit}
		seen := 0
		for range mb + 2 {
			p, err := a.ListMessages(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(p)
			if len(b) > limit*perRow+256 {
				t.Fatalf("page of %d rows is %d bytes", len(p.Items), len(b))
			}
			seen += len(p.Items)
			if !p.HasMoreBefore || len(p.Items) == 0 {
				break
			}
			q.Before = p.Items[0].ID
		}
		if seen != mb {
			t.Fatalf("limit %d: paged through %d of %d messages", limit, seen, mb)
		}
	}
	cs, err := a.ListConversations(ctx, ConversationQuery{})
	if b, _ := json.Marshal(cs); err != nil || len(cs.Items) != 1 || cs.Items[0].Unread != mb || len(b) > perRow {
		t.Fatalf("conversations %d bytes, %+v, %v", len(b), cs.Items, err)
	}
	full, err := a.GetMessage(ctx, wire.FullHash{0, 0, 9}.String())
	if err != nil || len(full.Content) != 1<<20 {
		t.Fatalf("full message: %d bytes, %v", len(full.Content), err)
	}
	if err := a.DeleteConversation(ctx, src.String()); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(filepath.Join(n.a.dir, AttachmentsDir)); len(es) != 0 {
		t.Fatalf("%d attachment files left after deleting the conversation", len(es))
	}
}
