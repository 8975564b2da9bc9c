package lxmf

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

func genIdentity(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func publicOnly(t testing.TB, id *identity.Identity) *identity.Identity {
	t.Helper()
	p, err := identity.FromPublicKey(id.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestMessage(dst *identity.Identity, content string) *Message {
	var f Fields
	f.SetAttachments([]Attachment{{"notes.txt", []byte("some notes")}})
	f.Set(0x1234, msgpack.Map(msgpack.KV{Key: msgpack.Str("custom"), Value: msgpack.Array(msgpack.Int(-7), msgpack.Float(0.5), msgpack.Nil())}))
	return &Message{Destination: DeliveryHash(dst), Timestamp: 1750000000.5, Title: []byte("hi"),
		Content: []byte(content), Fields: f}
}

func TestPackUnpackVerify(t *testing.T) {
	src, dst := genIdentity(t), genIdentity(t)
	m := newTestMessage(dst, "hello")
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	if m.Source != DeliveryHash(src) {
		t.Fatal("source not set from the identity")
	}
	u, err := Unpack(m.Packed, msgpack.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Verify(publicOnly(t, src)); err != nil {
		t.Fatal(err)
	}
	if u.ID != m.ID || !bytes.Equal(u.Content, m.Content) || len(u.Fields) != 2 {
		t.Fatalf("round trip: %+v", u)
	}
	atts, err := u.Fields.Attachments()
	if err != nil || len(atts) != 1 || atts[0].Name != "notes.txt" || string(atts[0].Data) != "some notes" {
		t.Fatalf("attachments %v %v", atts, err)
	}
	if v, ok := u.Fields.Get(0x1234); !ok || !v.Equal(m.Fields[1].Value) {
		t.Fatal("unknown field not preserved")
	}

	t.Run("source unknown", func(t *testing.T) {
		if err := u.Verify(nil); !errors.Is(err, ErrSourceUnknown) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		if err := u.Verify(dst); !errors.Is(err, ErrSourceMismatch) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tampered content", func(t *testing.T) {
		b := bytes.Clone(m.Packed)
		i := bytes.Index(b, []byte("hello"))
		b[i] ^= 1
		tu, err := Unpack(b, msgpack.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tu.Verify(src); !errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		b := bytes.Clone(m.Packed)
		b[HeaderLength-1] ^= 0x80
		tu, _ := Unpack(b, msgpack.Limits{})
		if err := tu.Verify(src); !errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unpacked message keeps its own copy", func(t *testing.T) {
		b := bytes.Clone(m.Packed)
		cu, _ := Unpack(b, msgpack.Limits{})
		for i := range b {
			b[i] = 0
		}
		if cu.Verify(src) != nil || !bytes.Equal(cu.Content, []byte("hello")) {
			t.Fatal("message aliases the caller's buffer")
		}
	})
}

func TestPackErrors(t *testing.T) {
	src, dst := genIdentity(t), genIdentity(t)
	m := newTestMessage(dst, "x")
	if err := m.Pack(publicOnly(t, src)); !errors.Is(err, identity.ErrNoPrivateKey) {
		t.Fatalf("public identity: %v", err)
	}
	m.Source = DeliveryHash(dst)
	if err := m.Pack(src); !errors.Is(err, ErrSourceMismatch) {
		t.Fatalf("other source: %v", err)
	}
	m = newTestMessage(dst, "x")
	m.Timestamp = 0
	if err := m.Pack(src); !errors.Is(err, ErrFormat) {
		t.Fatalf("no timestamp: %v", err)
	}
	if _, err := (&Message{}).Opportunistic(); !errors.Is(err, ErrNotPacked) {
		t.Fatal("opportunistic before pack")
	}
	if err := (&Message{}).Verify(src); !errors.Is(err, ErrNotPacked) {
		t.Fatal("verify before pack")
	}
}

func TestUnpackErrors(t *testing.T) {
	hdr := make([]byte, HeaderLength)
	tests := []struct {
		name    string
		payload string
	}{
		{"empty payload", ""},
		{"not an array", "\x80"},
		{"three elements", "\x93\xcb\x41\xd9\x54\xfc\x40\x10\x00\x00\xc4\x00\xc4\x00"},
		{"timestamp str", "\x94\xa1x\xc4\x00\xc4\x00\x80"},
		{"title int", "\x94\x01\x01\xc4\x00\x80"},
		{"fields list", "\x94\x01\xc4\x00\xc4\x00\x90"},
		{"truncated", "\x94\x01\xc4\x05ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpack(append(bytes.Clone(hdr), tc.payload...), msgpack.Limits{})
			if err == nil || (!errors.Is(err, ErrFormat) && !errors.Is(err, ErrMsgpack)) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, err := Unpack(append(bytes.Clone(hdr), "\x94\x01\xc4\x00\xc4\x00\xc0"...), msgpack.Limits{}); err != nil {
		t.Fatalf("nil fields and an int timestamp are accepted: %v", err)
	}
}

func TestPlan(t *testing.T) {
	src, dst := genIdentity(t), genIdentity(t)
	tests := []struct {
		size    int
		desired Method
		meth    Method
		rep     Representation
	}{
		{10, MethodOpportunistic, MethodOpportunistic, RepresentationPacket},
		{EncryptedPacketMaxContent, MethodOpportunistic, MethodOpportunistic, RepresentationPacket},
		{EncryptedPacketMaxContent + 1, MethodOpportunistic, MethodDirect, RepresentationPacket},
		{LinkPacketMaxContent, MethodDirect, MethodDirect, RepresentationPacket},
		{LinkPacketMaxContent + 1, MethodDirect, MethodDirect, RepresentationResource},
		{5000, MethodOpportunistic, MethodDirect, RepresentationResource},
	}
	for _, tc := range tests {
		m := &Message{Destination: DeliveryHash(dst), Timestamp: 1}
		// content_size is the payload less 16: shrink the content until it is tc.size
		m.Content = []byte(strings.Repeat("c", tc.size+8))
		if err := m.Pack(src); err != nil {
			t.Fatal(err)
		}
		for m.ContentSize() > tc.size {
			m.Content = m.Content[:len(m.Content)-1]
			m.Packed = nil
			if err := m.Pack(src); err != nil {
				t.Fatal(err)
			}
		}
		if m.ContentSize() != tc.size {
			t.Fatalf("content size %d, want %d", m.ContentSize(), tc.size)
		}
		meth, rep, err := m.Plan(tc.desired)
		if err != nil || meth != tc.meth || rep != tc.rep {
			t.Errorf("size %d desired %d: %d %d %v", tc.size, tc.desired, meth, rep, err)
		}
	}
	if _, _, err := (&Message{}).Plan(MethodDirect); !errors.Is(err, ErrNotPacked) {
		t.Fatal("plan before pack")
	}
}

func TestStampsAndTickets(t *testing.T) {
	src, dst := genIdentity(t), genIdentity(t)
	m := newTestMessage(dst, "stamped")
	m.Source = DeliveryHash(src)
	val, err := m.GenerateStamp(context.Background(), 8, nil)
	if err != nil || val < 8 || len(m.Stamp) != StampSize {
		t.Fatalf("generate: %d %v", val, err)
	}
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	u, err := Unpack(m.Packed, msgpack.Limits{})
	if err != nil || !bytes.Equal(u.Stamp, m.Stamp) || u.ID != m.ID || u.Verify(src) != nil {
		t.Fatalf("unpack stamped: %v", err)
	}
	if got, ok := u.ValidateStamp(8, nil); !ok || got != val {
		t.Fatalf("validate: %d %v", got, ok)
	}
	if _, ok := u.ValidateStamp(val+1, nil); ok {
		t.Fatal("valid above its value")
	}

	ticket := bytes.Repeat([]byte{7}, TicketLength)
	m.Packed = nil
	if err := m.ApplyTicket(ticket); err != nil || len(m.Stamp) != TicketLength {
		t.Fatalf("apply ticket: %v", err)
	}
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	u, _ = Unpack(m.Packed, msgpack.Limits{})
	if got, ok := u.ValidateStamp(30, [][]byte{ticket}); !ok || got != CostTicket {
		t.Fatalf("ticket: %d %v", got, ok)
	}
	if _, ok := u.ValidateStamp(30, [][]byte{bytes.Repeat([]byte{8}, TicketLength)}); ok {
		t.Fatal("wrong ticket accepted")
	}
	if err := m.ApplyTicket([]byte{1}); !errors.Is(err, ErrFormat) {
		t.Fatal("short ticket")
	}
	if _, err := m.GenerateStamp(context.Background(), MaxGenerateCost+1, nil); !errors.Is(err, ErrStampCost) {
		t.Fatal("cost above the cap")
	}
}

func TestGenerateStampCancel(t *testing.T) {
	wb, err := StampWorkblock([]byte("material"), 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := GenerateStamp(ctx, wb, MaxGenerateCost, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	s, v, err := GenerateStamp(context.Background(), wb, 0, nil)
	if err != nil || len(s) != StampSize || v != StampValue(wb, s) {
		t.Fatalf("cost 0: %v", err)
	}
	if _, err := StampWorkblock(nil, MaxWorkblockRounds+1); !errors.Is(err, ErrStampCost) {
		t.Fatal("rounds above the cap")
	}
}

func TestStampValidBoundary(t *testing.T) {
	// hashMeetsCost: at most 2^(256-cost), so exactly 2^(256-cost) is valid
	h := make([]byte, 32)
	h[0] = 0x01 // 2^248: 7 leading zeros
	if !hashMeetsCost(h, 8) || !hashMeetsCost(h, 7) {
		t.Fatal("2^248 meets cost 8 (equal) and 7")
	}
	h[31] = 1
	if hashMeetsCost(h, 8) {
		t.Fatal("2^248+1 does not meet cost 8")
	}
	if !hashMeetsCost(h, 0) || !hashMeetsCost(h, -5) || hashMeetsCost(make([]byte, 32), 257) {
		t.Fatal("cost bounds")
	}
	if leadingZeros(make([]byte, 32)) != 256 {
		t.Fatal("all-zero hash")
	}
}

func TestPropagatedRoundTrip(t *testing.T) {
	src, dst := genIdentity(t), genIdentity(t)
	m := newTestMessage(dst, "propagate me")
	if err := m.Pack(src); err != nil {
		t.Fatal(err)
	}
	ratchet, err := identity.GenerateRatchet()
	if err != nil {
		t.Fatal(err)
	}
	data, tid, err := m.EncryptFor(publicOnly(t, dst), ratchet.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	stamp, val, err := GeneratePropagationStamp(context.Background(), tid, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	container := PackPropagationContainer(1750000001.5, append(bytes.Clone(data), stamp...))
	ts, entries, err := UnpackPropagationContainer(container, msgpack.Limits{})
	if err != nil || ts != 1750000001.5 || len(entries) != 1 {
		t.Fatalf("container: %v", err)
	}
	e, err := ValidatePropagationStamp(entries[0], 4)
	if err != nil || e.TransientID != tid || e.StampValue != val {
		t.Fatalf("pn stamp: %v", err)
	}
	if _, _, err := DecryptPropagated(e.LXMFData, dst, nil, true); err == nil {
		t.Fatal("decrypted without the ratchet while ratchets are enforced")
	}
	packed, idx, err := DecryptPropagated(e.LXMFData, dst, []*identity.Ratchet{ratchet}, true)
	if err != nil || idx != 0 || !bytes.Equal(packed, m.Packed) {
		t.Fatalf("decrypt: %v %d", err, idx)
	}
	if PropagationRepresentation(len(container)) != RepresentationPacket ||
		PropagationRepresentation(LinkPacketMaxContent+1) != RepresentationResource {
		t.Fatalf("representation of a %d-byte container", len(container))
	}
	if _, _, err := m.EncryptFor(src, nil); !errors.Is(err, ErrDestinationMismatch) {
		t.Fatal("encrypt to the wrong identity")
	}
	if _, err := ValidatePropagationStamp(make([]byte, Overhead+StampSize), 0); !errors.Is(err, ErrFormat) {
		t.Fatal("short entry")
	}

	paper, _, err := m.EncryptFor(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := PaperURI(paper)
	if err != nil || !strings.HasPrefix(uri, "lxm://") || strings.Contains(uri, "=") {
		t.Fatalf("uri %q %v", uri, err)
	}
	back, err := ParsePaperURI("LXM://" + uri[6:] + "==")
	if err != nil || !bytes.Equal(back, paper) {
		t.Fatalf("parse uri: %v", err)
	}
	if _, err := ParsePaperURI("http://x"); !errors.Is(err, ErrFormat) {
		t.Fatal("other scheme")
	}
	if _, err := PaperURI(make([]byte, PaperMDU+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatal("paper too large")
	}
}

func TestPropagationContainerErrors(t *testing.T) {
	for _, in := range [][]byte{
		msgpack.Array(msgpack.Float(1)).Encode(),
		msgpack.Array(msgpack.Float(1), msgpack.Bin(nil)).Encode(),
		msgpack.Array(msgpack.Float(1), msgpack.Array(msgpack.Str("x"))).Encode(),
		msgpack.Array(msgpack.Str("t"), msgpack.Array()).Encode(),
		{0xc1},
	} {
		if _, _, err := UnpackPropagationContainer(in, msgpack.Limits{}); err == nil {
			t.Errorf("%x accepted", in)
		}
	}
}

func TestFieldsHelpers(t *testing.T) {
	var f Fields
	f.Set(FieldRenderer, msgpack.Int(RendererPlain))
	f.SetImage(Image{"webp", []byte{1}})
	f.Set(FieldRenderer, msgpack.Int(RendererMicron))
	if len(f) != 2 || f[0].Value.Encode()[0] != RendererMicron {
		t.Fatal("Set does not replace in place")
	}
	img, ok, err := f.Image()
	if !ok || err != nil || img.Type != "webp" {
		t.Fatal("image")
	}
	if _, ok, _ := f.Audio(); ok {
		t.Fatal("absent audio")
	}
	f.Set(FieldAudio, msgpack.Str("bad"))
	if _, ok, err := f.Audio(); !ok || !errors.Is(err, ErrFormat) {
		t.Fatal("malformed audio")
	}
	f.Set(FieldFileAttachments, msgpack.Array(msgpack.Array(msgpack.Int(1))))
	if _, err := f.Attachments(); !errors.Is(err, ErrFormat) {
		t.Fatal("malformed attachments")
	}
	f.SetTicket(Ticket{Expires: 5, Ticket: make([]byte, 16)})
	if tk, ok := f.Ticket(); !ok || tk.Expires != 5 {
		t.Fatal("ticket")
	}
	f.SetTicket(Ticket{Expires: 5, Ticket: make([]byte, 15)})
	if _, ok := f.Ticket(); ok {
		t.Fatal("short ticket accepted")
	}
	f.Delete(FieldRenderer)
	if _, ok := f.Get(FieldRenderer); ok || len(f) != 4 {
		t.Fatalf("delete: %d fields", len(f))
	}
	if _, err := FieldsFromValue(msgpack.Int(1)); !errors.Is(err, ErrFormat) {
		t.Fatal("fields from int")
	}
}

func TestTimestamp(t *testing.T) {
	tm := time.Unix(1700000000, 250_000_000)
	ts := Timestamp(tm)
	if ts != 1700000000.25 {
		t.Fatalf("timestamp %v", ts)
	}
	m := &Message{Timestamp: ts}
	if !m.Time().Equal(tm) {
		t.Fatalf("time %v", m.Time())
	}
}
