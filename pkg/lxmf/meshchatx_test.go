package lxmf

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// mcxCaptures is testdata/meshchatx-4.10.7-messages.json, written by
// test/interop/mcxcapture.py from a real MeshChatX server.
type mcxCaptures struct {
	Versions map[string]string `json:"versions"`
	Sender   struct {
		PublicKey    hexb `json:"identity_public_key"`
		DeliveryHash hexb `json:"delivery_hash"`
	} `json:"sender"`
	Receiver struct {
		DeliveryHash hexb `json:"delivery_hash"`
	} `json:"receiver"`
	Messages []struct {
		Name       string  `json:"name"`
		Packed     hexb    `json:"packed"`
		MessageID  hexb    `json:"message_id"`
		Timestamp  float64 `json:"timestamp"`
		Title      string  `json:"title"`
		Content    string  `json:"content"`
		FieldOrder []int64 `json:"field_order"`
		Expect     struct {
			Renderer    *int64 `json:"renderer"`
			NoRenderer  bool   `json:"no_renderer"`
			Attachments []struct {
				Name string `json:"name"`
				Data hexb   `json:"data_hex"`
			} `json:"attachments"`
			Image *struct {
				Type string `json:"type"`
				Data hexb   `json:"data_hex"`
			} `json:"image"`
			ReplyTo       hexb   `json:"reply_to"`
			ReplyQuote    string `json:"reply_quote"`
			ReactionTo    hexb   `json:"reaction_to"`
			ReactionEmoji string `json:"reaction_emoji"`
		} `json:"expect"`
	} `json:"messages"`
}

func loadMeshChatX(tb testing.TB) *mcxCaptures {
	tb.Helper()
	b, err := os.ReadFile("testdata/meshchatx-4.10.7-messages.json")
	if err != nil {
		tb.Fatal(err)
	}
	var c mcxCaptures
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatal(err)
	}
	if len(c.Messages) != 4 {
		tb.Fatalf("%d captures, want 4", len(c.Messages))
	}
	return &c
}

// TestMeshChatXCaptures decodes the messages a real MeshChatX 4.10.7
// server sent: each unpacks, its id is the one MeshChatX reported, its
// signature verifies against MeshChatX's identity, its payload re-encodes
// to the captured bytes, and its fields mean what MeshChatX was asked to
// send (Markdown renderer, file, image, reply with quote, reaction).
func TestMeshChatXCaptures(t *testing.T) {
	c := loadMeshChatX(t)
	sender, err := identity.FromPublicKey(c.Sender.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := DeliveryHash(sender); !bytes.Equal(got[:], c.Sender.DeliveryHash) {
		t.Fatalf("sender delivery hash %x, want %x", got, c.Sender.DeliveryHash)
	}
	first := c.Messages[0].MessageID
	for _, cm := range c.Messages {
		t.Run(cm.Name, func(t *testing.T) {
			m, err := Unpack(cm.Packed, msgpack.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.ID[:], cm.MessageID) {
				t.Fatalf("id %x, want %x", m.ID, cm.MessageID)
			}
			if !bytes.Equal(m.Source[:], c.Sender.DeliveryHash) || !bytes.Equal(m.Destination[:], c.Receiver.DeliveryHash) {
				t.Fatalf("source %x destination %x, want %x %x", m.Source, m.Destination, c.Sender.DeliveryHash, c.Receiver.DeliveryHash)
			}
			if err := m.Verify(sender); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if m.Timestamp != cm.Timestamp || string(m.Title) != cm.Title || string(m.Content) != cm.Content {
				t.Fatalf("got %v %q %q, want %v %q %q", m.Timestamp, m.Title, m.Content, cm.Timestamp, cm.Title, cm.Content)
			}
			// The decoded message re-encodes to MeshChatX's bytes, field order included.
			again := msgpack.Array(msgpack.Float(m.Timestamp), msgpack.Bin(m.Title), msgpack.Bin(m.Content), m.Fields.Value()).Encode()
			if !bytes.Equal(again, cm.Packed[HeaderLength:]) {
				t.Fatalf("payload re-encodes to\n%x\nwant\n%x", again, cm.Packed[HeaderLength:])
			}
			if len(m.Fields) != len(cm.FieldOrder) {
				t.Fatalf("%d fields, want %v", len(m.Fields), cm.FieldOrder)
			}
			for i, kv := range m.Fields {
				if k, ok := kv.Key.AsInt(); !ok || k != cm.FieldOrder[i] {
					t.Fatalf("field %d is %v, want %#x", i, kv.Key, cm.FieldOrder[i])
				}
			}
			checkMeshChatXFields(t, m.Fields, cm.Expect.Renderer, cm.Expect.NoRenderer)
			e := cm.Expect
			atts, err := m.Fields.Attachments()
			if err != nil || len(atts) != len(e.Attachments) {
				t.Fatalf("attachments %v %v, want %d", atts, err, len(e.Attachments))
			}
			for i, a := range e.Attachments {
				if atts[i].Name != a.Name || !bytes.Equal(atts[i].Data, a.Data) {
					t.Fatalf("attachment %d = %q %x, want %q %x", i, atts[i].Name, atts[i].Data, a.Name, a.Data)
				}
			}
			img, ok, err := m.Fields.Image()
			if err != nil || ok != (e.Image != nil) {
				t.Fatalf("image present %v (%v), want %v", ok, err, e.Image != nil)
			}
			if e.Image != nil && (img.Type != e.Image.Type || !bytes.Equal(img.Data, e.Image.Data)) {
				t.Fatalf("image %q %x, want %q %x", img.Type, img.Data, e.Image.Type, e.Image.Data)
			}
			checkBinField(t, m.Fields, FieldReplyTo, e.ReplyTo)
			checkBinField(t, m.Fields, FieldReplyQuote, []byte(e.ReplyQuote))
			if e.ReplyTo != nil && !bytes.Equal(e.ReplyTo, first) {
				t.Fatalf("reply_to %x is not the first capture %x", e.ReplyTo, first)
			}
			r, ok := m.Fields.Get(FieldReaction)
			if ok != (e.ReactionTo != nil) {
				t.Fatalf("reaction present %v, want %v", ok, e.ReactionTo != nil)
			}
			if ok {
				// MeshChatX: {0x00: target message id, 0x01: emoji as UTF-8 bytes}.
				to, ok1 := r.Get(msgpack.Int(0))
				emoji, ok2 := r.Get(msgpack.Int(1))
				tb, _ := to.AsBin()
				eb, _ := emoji.AsBin()
				if r.Kind() != msgpack.KindMap || r.Len() != 2 || !ok1 || !ok2 || !bytes.Equal(tb, e.ReactionTo) || string(eb) != e.ReactionEmoji {
					t.Fatalf("reaction %v, want to %x emoji %q", r, e.ReactionTo, e.ReactionEmoji)
				}
				if !bytes.Equal(tb, first) {
					t.Fatalf("reaction target %x is not the first capture %x", tb, first)
				}
			}
		})
	}
}

func checkMeshChatXFields(t *testing.T, f Fields, renderer *int64, none bool) {
	t.Helper()
	v, ok := f.Get(FieldRenderer)
	switch {
	case none && ok:
		t.Fatalf("renderer %v, want none", v)
	case renderer != nil:
		if r, isInt := v.AsInt(); !ok || !isInt || r != *renderer {
			t.Fatalf("renderer %v (present %v), want %d", v, ok, *renderer)
		}
	}
}

func checkBinField(t *testing.T, f Fields, id int64, want []byte) {
	t.Helper()
	v, ok := f.Get(id)
	if len(want) == 0 {
		if ok {
			t.Fatalf("field %#x = %v, want none", id, v)
		}
		return
	}
	b, isBin := v.AsBin()
	if !ok || !isBin || !bytes.Equal(b, want) {
		t.Fatalf("field %#x = %v (present %v), want bin %x", id, v, ok, want)
	}
}
