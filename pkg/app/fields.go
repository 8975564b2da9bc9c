package app

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/lxmf"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Bounds on what the app derives from a peer's fields, so a hostile message cannot make a row large.
const (
	maxNameLen    = 255  // bytes of an attachment name
	maxQuoteLen   = 2000 // bytes of a reply quote kept in the row
	maxRawFields  = 32   // uninterpreted fields listed per message
	maxEmojiRunes = 16   // runes of a reaction
)

// MeshChatX's reply and reaction layout (meshchatx/src/backend/lxmf_utils.py and
// ReticulumMeshChat.build_lxmf_message, read for behaviour): FIELD_REPLY_TO holds the 32-byte id of the
// message replied to, FIELD_REPLY_QUOTE the quoted text as UTF-8 bytes, and FIELD_REACTION a map
// {0x00: target message id (bytes), 0x01: emoji (UTF-8 bytes)} in a message of its own with empty
// title and content.
const (
	reactionTo      = 0x00
	reactionContent = 0x01
)

// audioCodecs names the FIELD_AUDIO modes (LXMF/LXMF.py AM_*).
var audioCodecs = map[int64]string{
	lxmf.AudioCodec2_450PWB: "codec2_450pwb", lxmf.AudioCodec2_450: "codec2_450", lxmf.AudioCodec2_700C: "codec2_700c",
	lxmf.AudioCodec2_1200: "codec2_1200", lxmf.AudioCodec2_1300: "codec2_1300", lxmf.AudioCodec2_1400: "codec2_1400",
	lxmf.AudioCodec2_1600: "codec2_1600", lxmf.AudioCodec2_2400: "codec2_2400", lxmf.AudioCodec2_3200: "codec2_3200",
	lxmf.AudioOpusOgg: "opus_ogg", lxmf.AudioOpusLBW: "opus_lbw", lxmf.AudioOpusMBW: "opus_mbw",
	lxmf.AudioOpusPTT: "opus_ptt", lxmf.AudioOpusRTHDX: "opus_rthdx", lxmf.AudioOpusRTFDX: "opus_rtfdx",
	lxmf.AudioOpusStandard: "opus_standard", lxmf.AudioOpusHQ: "opus_hq", lxmf.AudioOpusBroadcast: "opus_broadcast",
	lxmf.AudioOpusLossless: "opus_lossless", lxmf.AudioCustom: "custom",
}

func audioMode(codec string) (int64, bool) {
	for m, n := range audioCodecs {
		if n == codec {
			return m, true
		}
	}
	return 0, false
}

func audioCodecName(mode int64) string {
	if n, ok := audioCodecs[mode]; ok {
		return n
	}
	return "mode_" + strconv.FormatInt(mode, 10)
}

var rendererNames = map[int64]string{
	lxmf.RendererPlain: "plain", lxmf.RendererMicron: "micron", lxmf.RendererMarkdown: "markdown", lxmf.RendererBBCode: "bbcode",
}

func rendererMode(name string) (int64, bool) {
	for m, n := range rendererNames {
		if n == name {
			return m, true
		}
	}
	return 0, false
}

// RawField is a field Reticle does not interpret, listed so the owner sees it arrived.
type RawField struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	Size int    `json:"size"`
}

// meta is the JSON the messages.meta column keeps.
type meta struct {
	Quote     string           `json:"quote,omitempty"`
	RawFields []RawField       `json:"raw_fields,omitempty"`
	RawMore   int              `json:"raw_more,omitempty"`
	Held      []HeldAttachment `json:"held,omitempty"`
}

// HeldStranger is why an attachment was held back: it came from an address that is not a contact.
const HeldStranger = "stranger"

// HeldAttachment is an attachment whose bytes were not stored; the message says what it was.
type HeldAttachment struct {
	Kind   string `json:"kind"` // file, image or audio
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Reason string `json:"reason"` // stranger
}

// hold drops the attachment bytes, keeping what they were in the row's meta; false when there were none.
func (d *decomposed) hold(reason string) bool {
	if len(d.blobs) == 0 {
		return false
	}
	var m meta
	if d.update.Meta != "" {
		_ = json.Unmarshal([]byte(d.update.Meta), &m)
	}
	for _, b := range d.blobs {
		m.Held = append(m.Held, HeldAttachment{Kind: b.att.Kind, Name: b.att.Name, Size: b.att.Size, Reason: reason})
	}
	d.blobs = nil
	b, _ := json.Marshal(m)
	d.update.Meta = string(b)
	return true
}

// blob is one attachment's bytes before they are stored.
type blob struct {
	att  store.Attachment
	data []byte
}

// decomposed is a message's fields taken apart: the attachment bytes (stored as files), what the row
// keeps in columns, and the rest of the fields (stored packed, without the bytes).
type decomposed struct {
	rest   lxmf.Fields
	blobs  []blob
	update store.FieldsUpdate
}

// decompose takes fields apart. A field that does not have the reference layout stays in rest as
// received (and is listed as a raw field), so nothing a peer sends is lost.
func decompose(f lxmf.Fields) decomposed {
	var d decomposed
	var m meta
	idx := 0
	for _, kv := range f {
		id, isInt := kv.Key.AsInt()
		if !isInt {
			if u, ok := kv.Key.AsUint(); ok && u <= 0xFFFF {
				id, isInt = int64(u), true
			}
		}
		taken := false
		if isInt {
			taken = d.take(id, kv.Value, &idx, &m)
		}
		if taken {
			continue
		}
		d.rest = append(d.rest, kv)
		if len(m.RawFields) < maxRawFields {
			m.RawFields = append(m.RawFields, RawField{Key: fieldKey(kv.Key), Type: kv.Value.Kind().String(), Size: len(kv.Value.Encode())})
		} else {
			m.RawMore++
		}
	}
	if len(d.rest) > 0 {
		d.update.Fields = d.rest.Value().Encode()
	}
	if m.Quote != "" || len(m.RawFields) > 0 {
		b, _ := json.Marshal(m)
		d.update.Meta = string(b)
	}
	return d
}

// take interprets one field; it returns false to leave it raw.
func (d *decomposed) take(id int64, v msgpack.Value, idx *int, m *meta) bool {
	switch id {
	case lxmf.FieldFileAttachments:
		atts, err := lxmf.Fields{{Key: msgpack.Int(id), Value: v}}.Attachments()
		if err != nil {
			return false
		}
		for _, a := range atts {
			name := cleanName(a.Name, "file")
			d.blobs = append(d.blobs, blob{att: store.Attachment{Idx: *idx, Kind: store.KindFile, Name: name, Mime: mimeOf(name), Size: int64(len(a.Data))}, data: a.Data})
			*idx++
		}
		return true
	case lxmf.FieldImage:
		img, _, err := lxmf.Fields{{Key: msgpack.Int(id), Value: v}}.Image()
		if err != nil {
			return false
		}
		typ := cleanToken(img.Type)
		mt := "application/octet-stream"
		if typ != "" {
			mt = "image/" + typ
		}
		if typ == "jpg" {
			mt = "image/jpeg"
		}
		d.blobs = append(d.blobs, blob{att: store.Attachment{Idx: *idx, Kind: store.KindImage, Name: "image." + orDefault(typ, "bin"), Mime: mt, Size: int64(len(img.Data))}, data: img.Data})
		*idx++
		return true
	case lxmf.FieldAudio:
		au, _, err := lxmf.Fields{{Key: msgpack.Int(id), Value: v}}.Audio()
		if err != nil {
			return false
		}
		codec := audioCodecName(au.Mode)
		name, mt := "audio.c2", "application/octet-stream"
		if strings.HasPrefix(codec, "opus") {
			name, mt = "audio.ogg", "audio/ogg"
		}
		d.blobs = append(d.blobs, blob{att: store.Attachment{Idx: *idx, Kind: store.KindAudio, Name: name, Mime: mt, Codec: codec, Size: int64(len(au.Data))}, data: au.Data})
		*idx++
		return true
	case lxmf.FieldRenderer:
		r, ok := v.AsInt()
		if !ok {
			return false
		}
		if n, ok := rendererNames[r]; ok {
			d.update.Renderer = n
		} else {
			d.update.Renderer = "renderer_" + strconv.FormatInt(r, 10)
		}
		return true
	case lxmf.FieldReplyTo:
		b, ok := v.AsBytes()
		if !ok || len(b) != 32 {
			return false
		}
		d.update.ReplyTo = hex.EncodeToString(b)
		return true
	case lxmf.FieldReplyQuote:
		b, ok := v.AsBytes()
		if !ok {
			return false
		}
		m.Quote = truncUTF8(cleanText(string(b)), maxQuoteLen)
		return true
	case lxmf.FieldReaction:
		if v.Kind() != msgpack.KindMap {
			return false
		}
		to, ok1 := v.Get(msgpack.Int(reactionTo))
		emoji, ok2 := v.Get(msgpack.Int(reactionContent))
		tb, ok3 := to.AsBytes()
		eb, ok4 := emoji.AsBytes()
		if !ok1 || !ok2 || !ok3 || !ok4 || len(tb) != 32 {
			return false
		}
		d.update.ReactionTo = hex.EncodeToString(tb)
		d.update.Reaction = cleanEmoji(string(eb))
		return true
	}
	return false
}

func fieldKey(k msgpack.Value) string {
	if i, ok := k.AsInt(); ok {
		return "0x" + strconv.FormatInt(i, 16)
	}
	if u, ok := k.AsUint(); ok {
		return "0x" + strconv.FormatUint(u, 16)
	}
	if b, ok := k.AsBytes(); ok {
		return truncUTF8(strings.ToValidUTF8(string(b), "\uFFFD"), 64)
	}
	return k.Kind().String()
}

// cleanText makes peer text safe to show: valid UTF-8 without bidi overrides or other format and
// control characters (line breaks and tabs stay).
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case unicode.Is(unicode.Cf, r) && r != '\u200d': // keeps emoji joiners
			return -1
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// cleanName is a safe attachment name: no directories, no control or bidi characters, bounded.
func cleanName(s, fallback string) string {
	s = cleanText(strings.ReplaceAll(s, "\\", "/"))
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '"' {
			return '_'
		}
		return r
	}, path.Base("/"+s))
	s = strings.TrimSpace(s)
	if s == "" || s == "/" || s == "." || s == ".." {
		s = fallback
	}
	return truncUTF8(s, maxNameLen)
}

func cleanEmoji(s string) string {
	s = strings.TrimSpace(cleanText(s))
	if utf8.RuneCountInString(s) > maxEmojiRunes {
		s = string([]rune(s)[:maxEmojiRunes])
	}
	return s
}

// cleanToken keeps a short lowercase [a-z0-9.+-] token (an image type).
func cleanToken(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 32 {
		return ""
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '.' && r != '+' && r != '-' {
			return ""
		}
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// mimeOf guesses a file's type from its name (for display; downloads are always octet-stream unless an
// image is sniffed for inline display).
func mimeOf(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

// truncUTF8 cuts s to at most n bytes without splitting a character.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// decodeFields decodes a stored fields blob.
func decodeFields(b []byte) (lxmf.Fields, error) {
	if len(b) == 0 {
		return nil, nil
	}
	v, err := msgpack.DecodeValue(b, msgpack.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored fields: %w", err)
	}
	return lxmf.FieldsFromValue(v)
}
