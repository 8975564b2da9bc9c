package lxmf

import (
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Field ids (LXMF/LXMF.py). Ids up to 0x80 are reserved for LXMF; above 0xFF
// is for experiments.
const (
	FieldEmbeddedLXMs    = 0x01
	FieldTelemetry       = 0x02
	FieldTelemetryStream = 0x03
	FieldIconAppearance  = 0x04
	FieldFileAttachments = 0x05
	FieldImage           = 0x06
	FieldAudio           = 0x07
	FieldThread          = 0x08
	FieldCommands        = 0x09
	FieldResults         = 0x0A
	FieldGroup           = 0x0B
	FieldTicket          = 0x0C
	FieldEvent           = 0x0D
	FieldRNRRefs         = 0x0E
	FieldRenderer        = 0x0F
	FieldReplyTo         = 0x30
	FieldReplyQuote      = 0x31
	FieldReaction        = 0x40
	FieldComment         = 0x41
	FieldContinuation    = 0x42
	FieldCustomType      = 0xFB
	FieldCustomData      = 0xFC
	FieldCustomMeta      = 0xFD
	FieldNonSpecific     = 0xFE
	FieldDebug           = 0xFF
)

// Audio modes for FieldAudio (LXMF/LXMF.py AM_*).
const (
	AudioCodec2_450PWB = 0x01
	AudioCodec2_450    = 0x02
	AudioCodec2_700C   = 0x03
	AudioCodec2_1200   = 0x04
	AudioCodec2_1300   = 0x05
	AudioCodec2_1400   = 0x06
	AudioCodec2_1600   = 0x07
	AudioCodec2_2400   = 0x08
	AudioCodec2_3200   = 0x09
	AudioOpusOgg       = 0x10
	AudioOpusLBW       = 0x11
	AudioOpusMBW       = 0x12
	AudioOpusPTT       = 0x13
	AudioOpusRTHDX     = 0x14
	AudioOpusRTFDX     = 0x15
	AudioOpusStandard  = 0x16
	AudioOpusHQ        = 0x17
	AudioOpusBroadcast = 0x18
	AudioOpusLossless  = 0x19
	AudioCustom        = 0xFF
)

// Renderers for FieldRenderer (LXMF/LXMF.py RENDERER_*).
const (
	RendererPlain    = 0x00
	RendererMicron   = 0x01
	RendererMarkdown = 0x02
	RendererBBCode   = 0x03
)

// Fields is a message's fields map in wire order. Keys are normally small
// integers, but any key the reference accepts is kept, and values the
// package does not interpret are kept as decoded, so a received message's
// fields re-pack as the reference would re-pack them.
type Fields []msgpack.KV

// Get returns the field with integer id.
func (f Fields) Get(id int64) (msgpack.Value, bool) { return f.Lookup(msgpack.Int(id)) }

// Lookup returns the field with the given key under Python key equality.
func (f Fields) Lookup(key msgpack.Value) (msgpack.Value, bool) {
	want, ok := key.DictKey()
	if !ok {
		return msgpack.Value{}, false
	}
	for _, e := range f {
		if k, ok := e.Key.DictKey(); ok && k == want {
			return e.Value, true
		}
	}
	return msgpack.Value{}, false
}

// Set sets field id to v, in place when it exists (as a Python dict
// assignment keeps the key's position), else at the end.
func (f *Fields) Set(id int64, v msgpack.Value) { f.SetKey(msgpack.Int(id), v) }

// SetKey sets the field with an arbitrary hashable key.
func (f *Fields) SetKey(key, v msgpack.Value) {
	want, ok := key.DictKey()
	if ok {
		for i, e := range *f {
			if k, ok := e.Key.DictKey(); ok && k == want {
				(*f)[i].Value = v
				return
			}
		}
	}
	*f = append(*f, msgpack.KV{Key: key, Value: v})
}

// Delete removes field id.
func (f *Fields) Delete(id int64) {
	want, _ := msgpack.Int(id).DictKey()
	out := (*f)[:0]
	for _, e := range *f {
		if k, ok := e.Key.DictKey(); ok && k == want {
			continue
		}
		out = append(out, e)
	}
	*f = out
}

// Value returns the fields as a msgpack map.
func (f Fields) Value() msgpack.Value { return msgpack.Map(f...) }

// FieldsFromValue converts a decoded map (or nil, which the reference treats
// as no fields) to Fields.
func FieldsFromValue(v msgpack.Value) (Fields, error) {
	switch v.Kind() {
	case msgpack.KindNil:
		return Fields{}, nil
	case msgpack.KindMap:
		f := make(Fields, v.Len())
		for i := range f {
			f[i] = v.Entry(i)
		}
		return f, nil
	}
	return nil, fmt.Errorf("fields are %s, want map: %w", v.Kind(), ErrFormat)
}

// Attachment is one file in FieldFileAttachments: [name, data].
type Attachment struct {
	Name string
	Data []byte
}

// Image is FieldImage: [type, data], the type a short name such as "webp".
type Image struct {
	Type string
	Data []byte
}

// Audio is FieldAudio: [mode, data], mode one of the Audio* constants.
type Audio struct {
	Mode int64
	Data []byte
}

// Ticket is FieldTicket: [expires, ticket], expires in Unix seconds, the
// ticket 16 random bytes (LXMRouter.generate_ticket).
type Ticket struct {
	Expires float64
	Ticket  []byte
}

// SetAttachments sets FieldFileAttachments as the reference's clients pack
// it: a list of [name str, data bytes].
func (f *Fields) SetAttachments(atts []Attachment) {
	list := make([]msgpack.Value, len(atts))
	for i, a := range atts {
		list[i] = msgpack.Array(msgpack.Str(a.Name), msgpack.Bin(a.Data))
	}
	f.Set(FieldFileAttachments, msgpack.Array(list...))
}

// Attachments returns FieldFileAttachments; names may arrive as str or bin.
func (f Fields) Attachments() ([]Attachment, error) {
	v, ok := f.Get(FieldFileAttachments)
	if !ok {
		return nil, nil
	}
	if v.Kind() != msgpack.KindArray {
		return nil, fmt.Errorf("attachments field is %s: %w", v.Kind(), ErrFormat)
	}
	out := make([]Attachment, 0, v.Len())
	for i, e := range v.Elems() {
		name, ok1 := e.Index(0).AsBytes()
		data, ok2 := e.Index(1).AsBytes()
		if e.Kind() != msgpack.KindArray || !ok1 || !ok2 {
			return nil, fmt.Errorf("attachment %d malformed: %w", i, ErrFormat)
		}
		out = append(out, Attachment{Name: string(name), Data: data})
	}
	return out, nil
}

// SetImage sets FieldImage to [type str, data bytes].
func (f *Fields) SetImage(img Image) {
	f.Set(FieldImage, msgpack.Array(msgpack.Str(img.Type), msgpack.Bin(img.Data)))
}

// Image returns FieldImage; ok is false when the field is absent.
func (f Fields) Image() (img Image, ok bool, err error) {
	v, ok := f.Get(FieldImage)
	if !ok {
		return Image{}, false, nil
	}
	typ, ok1 := v.Index(0).AsBytes()
	data, ok2 := v.Index(1).AsBytes()
	if v.Kind() != msgpack.KindArray || !ok1 || !ok2 {
		return Image{}, true, fmt.Errorf("image field malformed: %w", ErrFormat)
	}
	return Image{Type: string(typ), Data: data}, true, nil
}

// SetAudio sets FieldAudio to [mode int, data bytes].
func (f *Fields) SetAudio(a Audio) {
	f.Set(FieldAudio, msgpack.Array(msgpack.Int(a.Mode), msgpack.Bin(a.Data)))
}

// Audio returns FieldAudio; ok is false when the field is absent.
func (f Fields) Audio() (a Audio, ok bool, err error) {
	v, ok := f.Get(FieldAudio)
	if !ok {
		return Audio{}, false, nil
	}
	mode, ok1 := v.Index(0).AsInt()
	data, ok2 := v.Index(1).AsBytes()
	if v.Kind() != msgpack.KindArray || !ok1 || !ok2 {
		return Audio{}, true, fmt.Errorf("audio field malformed: %w", ErrFormat)
	}
	return Audio{Mode: mode, Data: data}, true, nil
}

// SetTicket sets FieldTicket to [expires float, ticket bytes].
func (f *Fields) SetTicket(t Ticket) {
	f.Set(FieldTicket, msgpack.Array(msgpack.Float(t.Expires), msgpack.Bin(t.Ticket)))
}

// Ticket returns FieldTicket when it has the shape LXMRouter.lxmf_delivery
// accepts: a list of at least two items, a numeric expiry and a 16-byte
// ticket. Whether it has expired is the caller's check.
func (f Fields) Ticket() (Ticket, bool) {
	v, ok := f.Get(FieldTicket)
	if !ok || v.Kind() != msgpack.KindArray || v.Len() < 2 {
		return Ticket{}, false
	}
	exp, ok1 := v.Index(0).AsNumber()
	t, ok2 := v.Index(1).AsBin()
	if !ok1 || !ok2 || len(t) != TicketLength {
		return Ticket{}, false
	}
	return Ticket{Expires: exp, Ticket: t}, true
}
