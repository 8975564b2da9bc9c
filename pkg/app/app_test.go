package app

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/store"
)

func TestSendValidation(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	bob := n.b.app.Identity(ctx).Address
	cases := []struct {
		name string
		req  SendRequest
		want error
	}{
		{"short address", SendRequest{To: "abcd", Content: "x"}, ErrInvalidAddress},
		{"non-hex address", SendRequest{To: strings.Repeat("zz", 16), Content: "x"}, ErrInvalidAddress},
		{"full hash", SendRequest{To: strings.Repeat("ab", 32), Content: "x"}, ErrInvalidAddress},
		{"unknown method", SendRequest{To: bob, Content: "x", Method: "carrier-pigeon"}, ErrInvalidMethod},
		{"direct", SendRequest{To: bob, Content: "x", Method: "direct"}, ErrMethodUnavailable},
		{"propagated", SendRequest{To: bob, Content: "x", Method: "propagated"}, ErrMethodUnavailable},
		{"empty", SendRequest{To: bob}, ErrEmpty},
		{"not utf8", SendRequest{To: bob, Content: "\xff\xfe"}, ErrNotUTF8},
		{"above one packet", SendRequest{To: bob, Content: strings.Repeat("x", 400)}, ErrTooLarge},
		{"above limit", SendRequest{To: bob, Content: strings.Repeat("x", DefaultMaxContent+1)}, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := n.a.app.Send(ctx, c.req); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if ms, _ := n.a.app.listAll(ctx, ""); len(ms) != 0 {
		t.Fatalf("invalid sends stored %d messages", len(ms))
	}
	if _, err := n.a.app.listAll(ctx, "nothex"); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("list with bad peer: %v", err)
	}
}

func TestSendReceiveEndToEnd(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	evB, unsub := n.b.app.Events().Subscribe(32)
	defer unsub()
	if err := n.b.app.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.a.app.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	n.step(0)
	pp, err := n.a.app.ListPeers(ctx, PeerQuery{})
	peers := pp.Items
	if err != nil || len(peers) != 1 || peers[0].DisplayName != "bob" || peers[0].Address != n.b.app.Identity(ctx).Address {
		t.Fatalf("alice's peers %+v, %v", peers, err)
	}
	bob := n.b.app.Identity(ctx).Address
	// The message is stored queued before the router does anything.
	m, err := n.a.app.Send(ctx, SendRequest{To: strings.ToUpper(bob), Title: "hi", Content: "hello bob"})
	if err != nil {
		t.Fatal(err)
	}
	if m.State != store.StateQueued || m.Peer != bob || len(m.ID) != 64 {
		t.Fatalf("send returned %+v", m)
	}
	n.step(0)
	out, err := n.a.app.listAll(ctx, bob)
	if err != nil || len(out) != 1 || out[0].State != store.StateDelivered || out[0].Attempts != 1 {
		t.Fatalf("alice's messages %+v, %v", out, err)
	}
	in, err := n.b.app.listAll(ctx, n.a.app.Identity(ctx).Address)
	if err != nil || len(in) != 1 {
		t.Fatalf("bob's messages %+v, %v", in, err)
	}
	got := in[0]
	if got.ID != m.ID || got.Direction != "in" || got.Title != "hi" || got.Content != "hello bob" || !got.Verified || got.State != store.StateReceived {
		t.Fatalf("bob got %+v", got)
	}
	if d := got.Timestamp.Sub(n.clock.Now()); d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("timestamp %v, want %v", got.Timestamp, n.clock.Now())
	}
	var kinds []string
	for len(evB) > 0 {
		kinds = append(kinds, (<-evB).Kind)
	}
	if !contains(kinds, EventMessageReceived) || !contains(kinds, EventPeer) {
		t.Fatalf("bob's events %v", kinds)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestQueuedMessageSurvivesRestart(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	if err := n.b.app.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	n.step(0)
	bob := n.b.app.Identity(ctx).Address
	// Bob's side is cut: the message is sent but never proven.
	n.a.pipe.SetDrop(true)
	m, err := n.a.app.Send(ctx, SendRequest{To: bob, Content: "persistent"})
	if err != nil {
		t.Fatal(err)
	}
	n.step(0)
	if ms, _ := n.a.app.listAll(ctx, bob); ms[0].State != store.StateSent {
		t.Fatalf("before restart: %+v", ms[0])
	}
	// Restart alice's app on the same store: the stored peer is restored
	// and the pending message picked up again.
	if err := n.a.app.Close(); err != nil {
		t.Fatal(err)
	}
	n.a.start(t, n.clock, "alice")
	if n.a.app.Identity(ctx).Address == "" {
		t.Fatal("no identity after restart")
	}
	n.a.pipe.SetDrop(false)
	n.step(30 * time.Second)
	ms, err := n.a.app.listAll(ctx, bob)
	if err != nil || len(ms) != 1 || ms[0].ID != m.ID || ms[0].State != store.StateDelivered {
		t.Fatalf("after restart: %+v, %v", ms, err)
	}
	if in, _ := n.b.app.listAll(ctx, ""); len(in) != 1 {
		t.Fatalf("bob stored %d messages; want exactly 1", len(in))
	}
}

func TestStartTwiceAndCloseTwice(t *testing.T) {
	n := newNet(t)
	if err := n.a.app.Start(context.Background()); err == nil {
		t.Fatal("second start succeeded")
	}
	if err := n.a.app.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.a.app.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSendWithFields(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	bob := n.b.app.Identity(ctx).Address
	var f lxmf.Fields
	f.SetAttachments([]lxmf.Attachment{{Name: "a.txt", Data: []byte("tiny")}})
	m, err := n.a.app.Send(ctx, SendRequest{To: bob, Fields: f})
	if err != nil {
		t.Fatalf("fields without content: %v", err)
	}
	// Stored once: the attachment bytes live in a content-addressed file, not in the row's fields.
	row, err := n.a.st.GetMessage(ctx, m.ID, store.DirectionOut)
	if err != nil || len(row.Fields) != 0 || row.FieldsState != 1 || len(m.Attachments) != 1 || m.Attachments[0].Name != "a.txt" || m.Attachments[0].Size != 4 {
		t.Fatalf("stored fields %x, %+v, %v", row.Fields, m.Attachments, err)
	}
	att, err := n.a.app.OpenAttachment(ctx, m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(att.Body)
	_ = att.Body.Close()
	if string(got) != "tiny" || att.InlineType != "" {
		t.Fatalf("attachment %q inline %q", got, att.InlineType)
	}
	// A second message with the same bytes shares the file; deleting the first keeps it, deleting the
	// last removes it.
	m2, err := n.a.app.Send(ctx, SendRequest{To: bob, Content: "again", Fields: f})
	if err != nil {
		t.Fatal(err)
	}
	files := func() int {
		es, err := os.ReadDir(filepath.Join(n.a.dir, AttachmentsDir))
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if files() != 1 {
		t.Fatalf("%d attachment files for one content", files())
	}
	if err := n.a.app.DeleteMessage(ctx, m.ID); err != nil || files() != 1 {
		t.Fatalf("delete first: %v, %d files", err, files())
	}
	if err := n.a.app.DeleteMessage(ctx, m2.ID); err != nil || files() != 0 {
		t.Fatalf("delete last: %v, %d files", err, files())
	}
	if err := n.a.app.DeleteMessage(ctx, m2.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	var big lxmf.Fields
	big.SetAttachments([]lxmf.Attachment{{Name: "big", Data: make([]byte, 9<<20)}})
	if _, err := n.a.app.Send(ctx, SendRequest{To: bob, Content: "x", Fields: big}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("9 MiB fields: %v", err)
	}
}
