package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// mcxCapture is one message of pkg/lxmf/testdata/meshchatx-4.10.7-messages.json, which
// test/interop/mcxcapture.py captured from a real MeshChatX 4.10.7 server.
type mcxCapture struct {
	Name      string  `json:"name"`
	Packed    string  `json:"packed"`
	MessageID string  `json:"message_id"`
	Timestamp float64 `json:"timestamp"`
	Title     string  `json:"title"`
	Content   string  `json:"content"`
	Expect    struct {
		Attachments []struct {
			Name string `json:"name"`
			Data string `json:"data_hex"`
		} `json:"attachments"`
		Image *struct {
			Type string `json:"type"`
			Data string `json:"data_hex"`
		} `json:"image"`
		ReplyTo       string `json:"reply_to"`
		ReplyQuote    string `json:"reply_quote"`
		ReactionTo    string `json:"reaction_to"`
		ReactionEmoji string `json:"reaction_emoji"`
		NoRenderer    bool   `json:"no_renderer"`
	} `json:"expect"`
}

type mcxCaptures struct {
	Sender struct {
		PublicKey string `json:"identity_public_key"`
	} `json:"sender"`
	Messages []mcxCapture `json:"messages"`
}

func loadMeshChatX(t *testing.T) (mcxCaptures, map[string]*lxmf.Message) {
	t.Helper()
	b, err := os.ReadFile("../lxmf/testdata/meshchatx-4.10.7-messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var c mcxCaptures
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 4 {
		t.Fatalf("%d captures, want 4", len(c.Messages))
	}
	msgs := map[string]*lxmf.Message{}
	for _, cm := range c.Messages {
		m, err := lxmf.Unpack(mustHex(t, cm.Packed), msgpack.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		msgs[cm.Name] = m
	}
	return c, msgs
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mcxRequest is what a Reticle user asks for to send what MeshChatX sent: MeshChatX always sets the
// Markdown renderer, except on a message that is only a reaction.
func mcxRequest(t *testing.T, cm mcxCapture) SendRequest {
	e := cm.Expect
	req := SendRequest{Title: cm.Title, Content: cm.Content, ReplyTo: e.ReplyTo, ReplyQuote: e.ReplyQuote}
	if !e.NoRenderer {
		req.Renderer = "markdown"
	}
	for _, a := range e.Attachments {
		req.Attachments = append(req.Attachments, AttachmentInput{Name: a.Name, Data: mustHex(t, a.Data)})
	}
	if e.Image != nil {
		req.Image = &ImageInput{Mime: "image/" + e.Image.Type, Data: mustHex(t, e.Image.Data)}
	}
	if e.ReactionTo != "" {
		req.Reaction = &ReactionRef{To: e.ReactionTo, Emoji: e.ReactionEmoji}
	}
	return req
}

// TestMeshChatXReencode: buildFields, given what MeshChatX was asked to send, yields fields whose
// payload [timestamp, title, content, fields] is byte for byte the one MeshChatX sent (field order
// included), so the message id is MeshChatX's too.
func TestMeshChatXReencode(t *testing.T) {
	c, msgs := loadMeshChatX(t)
	for _, cm := range c.Messages {
		t.Run(cm.Name, func(t *testing.T) {
			captured := msgs[cm.Name]
			f, err := buildFields(mcxRequest(t, cm))
			if err != nil {
				t.Fatal(err)
			}
			m := &lxmf.Message{Destination: captured.Destination, Source: captured.Source,
				Timestamp: cm.Timestamp, Title: []byte(cm.Title), Content: []byte(cm.Content), Fields: f}
			payload := msgpack.Array(msgpack.Float(m.Timestamp), msgpack.Bin(m.Title), msgpack.Bin(m.Content), f.Value()).Encode()
			if want := captured.Packed[lxmf.HeaderLength:]; !bytes.Equal(payload, want) {
				t.Fatalf("payload\n%x\nwant MeshChatX's\n%x", payload, want)
			}
			id, err := m.ComputeID()
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != cm.MessageID {
				t.Fatalf("id %s, want %s", id, cm.MessageID)
			}
		})
	}
}

// TestMeshChatXInbound delivers the captured MeshChatX messages, as the router hands them over after
// checking their signatures, and checks what the thread API shows: Markdown, the file and the image,
// the reply with its quote, and the reaction on the message it reacts to.
func TestMeshChatXInbound(t *testing.T) {
	c, msgs := loadMeshChatX(t)
	n := newNet(t)
	ctx := context.Background()
	a := n.a.app
	sender, err := identity.FromPublicKey(mustHex(t, c.Sender.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	peer := lxmf.DeliveryHash(sender).String()
	if _, _, err := a.PutContact(ctx, peer, ContactPatch{}); err != nil { // a contact's attachments are stored
		t.Fatal(err)
	}
	for _, cm := range c.Messages {
		m := msgs[cm.Name]
		if err := m.Verify(sender); err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		if err := (sink{a}).Deliver(ctx, router.Inbound{Message: m, Method: lxmf.MethodOpportunistic, Verified: true, ReceivedAt: time.Now()}); err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
	}
	page, err := a.ListMessages(ctx, MessageQuery{Peer: peer})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Message{}
	for _, v := range page.Items {
		rows[v.ID] = v
	}
	if len(page.Items) != 3 {
		t.Fatalf("%d rows, want 3 (a reaction is not a row): %+v", len(page.Items), page.Items)
	}
	byName := map[string]mcxCapture{}
	for _, cm := range c.Messages {
		byName[cm.Name] = cm
	}
	first := byName["plain_markdown"].MessageID
	for _, name := range []string{"plain_markdown", "file_and_image", "reply"} {
		v, ok := rows[byName[name].MessageID]
		if !ok {
			t.Fatalf("%s: no row", name)
		}
		if v.Renderer != "markdown" || v.Content != byName[name].Content || !v.Verified || len(v.RawFields) != 0 {
			t.Fatalf("%s: %+v", name, v)
		}
	}
	v := rows[first]
	if len(v.Reactions) != 1 || v.Reactions[0].Emoji != "👍" || v.Reactions[0].From != peer || v.ReplyTo != nil {
		t.Fatalf("reacted-to message %+v", v)
	}
	r := rows[byName["reply"].MessageID]
	if r.ReplyTo == nil || *r.ReplyTo != first || r.ReplyQuote != byName["plain_markdown"].Content {
		t.Fatalf("reply %+v", r)
	}
	fi := rows[byName["file_and_image"].MessageID]
	e := byName["file_and_image"].Expect
	want := []struct {
		kind, name, mime string
		data             []byte
	}{
		{"file", e.Attachments[0].Name, "text/plain", mustHex(t, e.Attachments[0].Data)},
		{"image", "image.png", "image/png", mustHex(t, e.Image.Data)},
	}
	if len(fi.Attachments) != len(want) {
		t.Fatalf("attachments %+v", fi.Attachments)
	}
	for i, w := range want {
		at := fi.Attachments[i]
		if at.Kind != w.kind || at.Name != w.name || at.Mime != w.mime || at.Size != int64(len(w.data)) {
			t.Fatalf("attachment %d: %+v, want %s %s %s", i, at, w.kind, w.name, w.mime)
		}
		got, err := a.OpenAttachment(ctx, fi.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(got.Body)
		_ = got.Body.Close()
		if !bytes.Equal(b, w.data) {
			t.Fatalf("attachment %d bytes %x, want %x", i, b, w.data)
		}
	}
}

// TestBuildFieldsOrder: fields come in MeshChatX's order whatever the request holds; a Go caller's
// extra fields sit where MeshChatX puts telemetry and commands, and a typed input replaces a caller's
// field with the same id in the typed input's place.
func TestBuildFieldsOrder(t *testing.T) {
	id := "ab" + string(bytes.Repeat([]byte("00"), 31))
	var extra lxmf.Fields
	extra.Set(lxmf.FieldReplyTo, msgpack.Bin([]byte("callers")))
	extra.Set(lxmf.FieldTelemetry, msgpack.Bin([]byte{1}))
	extra.Set(lxmf.FieldRenderer, msgpack.Int(lxmf.RendererPlain))
	extra.Set(lxmf.FieldCommands, msgpack.Array())
	f, err := buildFields(SendRequest{
		Fields: extra, ReplyTo: id, ReplyQuote: "q", Renderer: "markdown",
		Reaction: &ReactionRef{To: id, Emoji: "🎉"}, Audio: &AudioInput{Codec: "opus_ogg", Data: []byte("OggS")},
		Image: &ImageInput{Mime: "image/webp", Data: []byte("RIFF")}, Attachments: []AttachmentInput{{Name: "a.txt", Data: []byte("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{lxmf.FieldRenderer, lxmf.FieldFileAttachments, lxmf.FieldImage, lxmf.FieldAudio,
		lxmf.FieldTelemetry, lxmf.FieldCommands, lxmf.FieldReplyTo, lxmf.FieldReplyQuote, lxmf.FieldReaction}
	if len(f) != len(want) {
		t.Fatalf("fields %v, want ids %v", f, want)
	}
	for i, kv := range f {
		if k, _ := kv.Key.AsInt(); k != want[i] {
			t.Fatalf("field %d is %v, want %#x (all: %v)", i, kv.Key, want[i], f)
		}
	}
	if r, _ := f[0].Value.AsInt(); r != lxmf.RendererMarkdown {
		t.Fatalf("renderer %v: the typed renderer wins", f[0].Value)
	}
	if b, _ := f[6].Value.AsBin(); hex.EncodeToString(b) != id {
		t.Fatalf("reply_to %x: the typed reply wins", b)
	}
	// Without typed inputs the caller's fields are kept as given.
	g, err := buildFields(SendRequest{Fields: extra})
	if err != nil || !bytes.Equal(g.Value().Encode(), extra.Value().Encode()) {
		t.Fatalf("caller's fields %v (%v), want %v", g, err, extra)
	}
}
