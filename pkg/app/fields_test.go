package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// TestInboundFields delivers a message with a file, an image, audio, a reply, markdown and an unknown
// field, then a MeshChatX-style reaction to it, and checks what the API shows.
func TestInboundFields(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	a := n.a.app
	src := wire.Hash{7}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	var f lxmf.Fields
	f.SetAttachments([]lxmf.Attachment{{Name: "../../etc/notes\u202e.txt", Data: []byte("file bytes")}})
	f.SetImage(lxmf.Image{Type: "png", Data: png})
	f.SetAudio(lxmf.Audio{Mode: lxmf.AudioOpusOgg, Data: []byte("OggS audio")})
	f.Set(lxmf.FieldRenderer, msgpack.Int(lxmf.RendererMarkdown))
	target := wire.FullHash{0xaa}
	f.Set(lxmf.FieldReplyTo, msgpack.Bin(target[:]))
	f.Set(lxmf.FieldReplyQuote, msgpack.Bin([]byte("quoted")))
	f.Set(0x99, msgpack.Str("mystery"))
	f.Set(lxmf.FieldImage+100, msgpack.Array(msgpack.Int(1))) // unknown, kept raw
	m := &lxmf.Message{ID: wire.FullHash{1}, Destination: a.r.Hash(), Source: src, Content: []byte("**hi**"), Fields: f, Timestamp: 1.7e9}
	if _, _, err := a.PutContact(ctx, src.String(), ContactPatch{}); err != nil { // a contact's attachments are stored
		t.Fatal(err)
	}
	if err := (sink{a}).Deliver(ctx, router.Inbound{Message: m, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var rf lxmf.Fields
	rf.Set(lxmf.FieldReaction, msgpack.Map(
		msgpack.KV{Key: msgpack.Int(reactionTo), Value: msgpack.Bin(m.ID[:])},
		msgpack.KV{Key: msgpack.Int(reactionContent), Value: msgpack.Bin([]byte("👍"))}))
	r := &lxmf.Message{ID: wire.FullHash{2}, Destination: a.r.Hash(), Source: src, Fields: rf, Timestamp: 1.7e9 + 1}
	if err := (sink{a}).Deliver(ctx, router.Inbound{Message: r, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	page, err := a.ListMessages(ctx, MessageQuery{Peer: src.String()})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("thread %+v, %v (a reaction is not a row)", page.Items, err)
	}
	v := page.Items[0]
	if v.Renderer != "markdown" || v.ReplyTo == nil || *v.ReplyTo != target.String() || v.ReplyQuote != "quoted" || v.Read {
		t.Fatalf("row %+v", v)
	}
	if len(v.Reactions) != 1 || v.Reactions[0].Emoji != "👍" || v.Reactions[0].From != src.String() {
		t.Fatalf("reactions %+v", v.Reactions)
	}
	if len(v.RawFields) != 2 || v.RawFields[0].Key != "0x99" || v.RawFields[0].Type != "str" {
		t.Fatalf("raw fields %+v", v.RawFields)
	}
	want := []struct{ kind, name, mime, codec, inline string }{
		{"file", "notes.txt", "text/plain", "", ""},
		{"image", "image.png", "image/png", "", "image/png"},
		{"audio", "audio.ogg", "audio/ogg", "opus_ogg", ""},
	}
	data := [][]byte{[]byte("file bytes"), png, []byte("OggS audio")}
	if len(v.Attachments) != len(want) || v.AttachmentCount != 3 {
		t.Fatalf("attachments %+v", v.Attachments)
	}
	for i, w := range want {
		at := v.Attachments[i]
		if at.Kind != w.kind || at.Name != w.name || at.Mime != w.mime || at.Codec != w.codec || at.Index != i || at.Size != int64(len(data[i])) {
			t.Errorf("attachment %d: %+v, want %+v", i, at, w)
		}
		c, err := a.OpenAttachment(ctx, v.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(c.Body)
		_ = c.Body.Close()
		if !bytes.Equal(got, data[i]) || c.InlineType != w.inline {
			t.Errorf("attachment %d bytes %q inline %q", i, got, c.InlineType)
		}
	}
	cs, _ := a.ListConversations(ctx, ConversationQuery{Search: "HI"})
	if len(cs.Items) != 1 || cs.Items[0].Unread != 1 {
		t.Fatalf("search by content: %+v", cs.Items)
	}
	if cs, _ := a.ListConversations(ctx, ConversationQuery{Search: "nothing like it"}); len(cs.Items) != 0 {
		t.Fatalf("search matched %+v", cs.Items)
	}
	events, unsub := a.Events().Subscribe(8)
	defer unsub()
	if err := a.MarkRead(ctx, src.String()); err != nil {
		t.Fatal(err)
	}
	if cs, _ := a.ListConversations(ctx, ConversationQuery{}); cs.Items[0].Unread != 0 {
		t.Fatalf("unread after read: %+v", cs.Items)
	}
	// A second mark changes nothing and publishes nothing (a client marking on every reload must not
	// feed itself read events).
	if err := a.MarkRead(ctx, src.String()); err != nil {
		t.Fatal(err)
	}
	if n := len(events); n != 1 {
		t.Fatalf("%d events for one real read and one no-op", n)
	}
	if e := <-events; e.Kind != EventConversationRead || e.Peer != src.String() {
		t.Fatalf("event %+v", e)
	}
}

// FuzzDecompose: any fields a peer sends decompose without panicking and keep every field they do not
// interpret.
func FuzzDecompose(f *testing.F) {
	var seed lxmf.Fields
	seed.SetAttachments([]lxmf.Attachment{{Name: "a", Data: []byte("b")}})
	seed.SetImage(lxmf.Image{Type: "webp", Data: []byte("x")})
	seed.Set(lxmf.FieldReaction, msgpack.Map(msgpack.KV{Key: msgpack.Int(0), Value: msgpack.Bin(make([]byte, 32))}))
	f.Add(seed.Value().Encode())
	f.Add([]byte{0x81, 0x05, 0x91, 0x92, 0xc0, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, msgpack.Limits{MaxSize: 1 << 16})
		if err != nil {
			return
		}
		fs, err := lxmf.FieldsFromValue(v)
		if err != nil {
			return
		}
		d := decompose(fs)
		if len(d.rest)+len(d.blobs) == 0 && len(fs) > 0 && d.update.Renderer == "" && d.update.ReplyTo == "" && d.update.ReactionTo == "" && d.update.Meta == "" {
			t.Fatalf("fields %x vanished", b)
		}
		if len(d.update.Meta) > 64<<10 {
			t.Fatalf("meta %d bytes", len(d.update.Meta))
		}
	})
}

// TestMigrateInlineAttachments: a row stored before migration 6 (attachment bytes inside its fields) has
// them moved to files at start, and shows them like a new one.
func TestMigrateInlineAttachments(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	a := n.a.app
	var f lxmf.Fields
	f.SetAttachments([]lxmf.Attachment{{Name: "old.txt", Data: []byte("old bytes")}})
	f.Set(0x77, msgpack.Int(5))
	row := &store.Message{MessageID: wire.FullHash{5}.String(), Direction: store.DirectionIn, Peer: wire.Hash{5}.String(),
		Fields: f.Value().Encode(), State: store.StateReceived, CreatedAt: time.Now()}
	if _, err := a.st.InsertMessage(ctx, row); err != nil {
		t.Fatal(err)
	}
	if err := a.migrateAttachments(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := a.GetMessage(ctx, row.MessageID)
	if err != nil || len(m.Attachments) != 1 || m.Attachments[0].Name != "old.txt" || len(m.RawFields) != 1 {
		t.Fatalf("migrated %+v, %v", m, err)
	}
	got, _ := a.st.GetMessage(ctx, row.MessageID, store.DirectionIn)
	if bytes.Contains(got.Fields, []byte("old bytes")) || got.FieldsState != 1 {
		t.Fatalf("fields still hold the bytes: %x", got.Fields)
	}
	c, err := a.OpenAttachment(ctx, row.MessageID, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c.Body)
	_ = c.Body.Close()
	if string(b) != "old bytes" {
		t.Fatalf("bytes %q", b)
	}
}

// TestSendReplyAndReactionLayout: replies and reactions are packed as MeshChatX packs them
// (FIELD_REPLY_TO = 32 id bytes, FIELD_REPLY_QUOTE = UTF-8 bytes, FIELD_REACTION = {0: id, 1: emoji}),
// and decompose back to what was sent.
func TestSendReplyAndReactionLayout(t *testing.T) {
	id := wire.FullHash{0xab, 0xcd}
	f, err := buildFields(SendRequest{ReplyTo: id.String(), ReplyQuote: "earlier", Renderer: "markdown"})
	if err != nil {
		t.Fatal(err)
	}
	want := lxmf.Fields{
		{Key: msgpack.Int(lxmf.FieldRenderer), Value: msgpack.Int(lxmf.RendererMarkdown)},
		{Key: msgpack.Int(lxmf.FieldReplyTo), Value: msgpack.Bin(id[:])},
		{Key: msgpack.Int(lxmf.FieldReplyQuote), Value: msgpack.Bin([]byte("earlier"))},
	}
	if !bytes.Equal(f.Value().Encode(), want.Value().Encode()) {
		t.Fatalf("reply fields %x, want %x", f.Value().Encode(), want.Value().Encode())
	}
	r, err := buildFields(SendRequest{Reaction: &ReactionRef{To: id.String(), Emoji: "👍"}})
	if err != nil {
		t.Fatal(err)
	}
	wantR := lxmf.Fields{{Key: msgpack.Int(lxmf.FieldReaction), Value: msgpack.Map(
		msgpack.KV{Key: msgpack.Int(0), Value: msgpack.Bin(id[:])},
		msgpack.KV{Key: msgpack.Int(1), Value: msgpack.Bin([]byte("👍"))})}}
	if !bytes.Equal(r.Value().Encode(), wantR.Value().Encode()) {
		t.Fatalf("reaction fields %x, want %x", r.Value().Encode(), wantR.Value().Encode())
	}
	d := decompose(r)
	if d.update.ReactionTo != id.String() || d.update.Reaction != "👍" || len(d.rest) != 0 {
		t.Fatalf("decomposed %+v", d.update)
	}
	for _, bad := range []SendRequest{
		{ReplyTo: "nothex"},
		{Reaction: &ReactionRef{To: id.String(), Emoji: ""}},
		{Reaction: &ReactionRef{To: id.String(), Emoji: "this is far too long for a reaction"}},
		{Audio: &AudioInput{Codec: "mp3", Data: []byte{1}}},
		{Image: &ImageInput{Mime: "text/html", Data: []byte{1}}},
		{Renderer: "html"},
	} {
		if _, err := buildFields(bad); !errors.Is(err, ErrInvalidField) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestFreshViewsMatchStored: the message a send answers with and the one a received message is
// published with are built without reading the rows back; they equal what reading it gives: its
// attachments, and for an inbound message a reaction that arrived before it.
func TestFreshViewsMatchStored(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	a := n.a.app
	events, unsub := a.Events().Subscribe(16)
	defer unsub()
	src := wire.Hash{9}
	if _, _, err := a.PutContact(ctx, src.String(), ContactPatch{}); err != nil {
		t.Fatal(err)
	}
	msgID := wire.FullHash{0x31}
	var rf lxmf.Fields // the reaction comes first
	rf.Set(lxmf.FieldReaction, msgpack.Map(
		msgpack.KV{Key: msgpack.Int(reactionTo), Value: msgpack.Bin(msgID[:])},
		msgpack.KV{Key: msgpack.Int(reactionContent), Value: msgpack.Bin([]byte("🎉"))}))
	for _, m := range []*lxmf.Message{
		{ID: wire.FullHash{0x32}, Destination: a.r.Hash(), Source: src, Fields: rf, Timestamp: 1.7e9},
		{ID: msgID, Destination: a.r.Hash(), Source: src, Content: []byte("with a file"), Timestamp: 1.7e9 + 1, Fields: func() lxmf.Fields {
			var f lxmf.Fields
			f.SetAttachments([]lxmf.Attachment{{Name: "a.txt", Data: []byte("A")}, {Name: "b.txt", Data: []byte("BB")}})
			return f
		}()},
	} {
		if err := (sink{a}).Deliver(ctx, router.Inbound{Message: m, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var published *Message
	for published == nil {
		select {
		case ev := <-events:
			if ev.Kind == EventMessageReceived && ev.MessageID == msgID.String() {
				published = ev.Message
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event for the received message")
		}
	}
	stored, err := a.GetMessage(ctx, msgID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(published.Attachments, stored.Attachments) || published.AttachmentCount != 2 ||
		!reflect.DeepEqual(published.Reactions, stored.Reactions) || len(published.Reactions) != 1 {
		t.Fatalf("published %+v\nstored    %+v", published, stored)
	}

	sent, err := a.Send(ctx, SendRequest{To: n.b.app.Identity(ctx).Address, Content: "files back",
		Attachments: []AttachmentInput{{Name: "c.txt", Data: []byte("CCC")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.GetMessage(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent.Attachments, got.Attachments) || sent.AttachmentCount != 1 || len(sent.Reactions) != 0 {
		t.Fatalf("send answered %+v\nstored        %+v", sent, got)
	}
}
