package lxmf

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Sizes and limits of the LXMF format (LXMF/LXMessage.py), with the default
// Reticulum MTU of 500.
const (
	// AppName is the LXMF application name; delivery destinations are
	// lxmf.delivery, propagation nodes lxmf.propagation.
	AppName = "lxmf"
	// DestinationLength is the length of destination and source hashes.
	DestinationLength = wire.TruncatedHashLen
	// SignatureLength is the length of an Ed25519 signature.
	SignatureLength = 64
	// HeaderLength is destination, source and signature before the payload.
	HeaderLength = 2*DestinationLength + SignatureLength
	// Overhead is LXMF_OVERHEAD: hashes, signature, timestamp and msgpack
	// structure (112 bytes).
	Overhead = HeaderLength + 8 + 8
	// EncryptedPacketMaxContent is the most content an opportunistic
	// single-packet message carries (the destination hash is implied).
	EncryptedPacketMaxContent = 383 - Overhead + DestinationLength
	// LinkPacketMaxContent is the most content a single link packet carries
	// before delivery needs a resource.
	LinkPacketMaxContent = 431 - Overhead
	// PlainPacketMaxContent is the most content of an unencrypted packet.
	PlainPacketMaxContent = 464 - Overhead + DestinationLength
	// PaperMDU is the largest paper message (QR code capacity).
	PaperMDU = ((2953 - len(URISchema+"://")) * 6) / 8
	// URISchema is the scheme of paper message URIs.
	URISchema = "lxm"
)

// Method is a delivery method (LXMessage.OPPORTUNISTIC and so on).
type Method uint8

// Delivery methods.
const (
	MethodOpportunistic Method = 0x01
	MethodDirect        Method = 0x02
	MethodPropagated    Method = 0x03
	MethodPaper         Method = 0x05
)

// Representation is how a message travels: one packet or a resource.
type Representation uint8

// Representations (LXMessage.PACKET, RESOURCE, and PAPER for paper messages).
const (
	RepresentationUnknown  Representation = 0x00
	RepresentationPacket   Representation = 0x01
	RepresentationResource Representation = 0x02
	RepresentationPaper    Representation = 0x05
)

// Message is an LXMF message. Fill Destination, Timestamp, Title, Content
// and Fields (and Stamp, if one is needed) and call Pack; or get one from
// Unpack. Signature, ID and Packed are set by both.
type Message struct {
	Destination wire.Hash // lxmf.delivery destination of the recipient
	Source      wire.Hash // lxmf.delivery destination of the sender
	Timestamp   float64   // Unix seconds, as Python's time.time()
	Title       []byte
	Content     []byte
	Fields      Fields
	// Stamp is the optional fifth payload element: a 32-byte proof-of-work
	// stamp or a 16-byte ticket stamp. It is not covered by the ID or the
	// signature.
	Stamp []byte

	Signature []byte        // Ed25519 signature over hashed part || ID
	ID        wire.FullHash // message id: SHA-256 of dest || source || payload without stamp
	Packed    []byte        // dest || source || signature || payload: the direct form

	hashed []byte // dest || source || payload without stamp, as signed
}

// Timestamp converts a time to LXMF's float seconds, as time.time() gives.
func Timestamp(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// Time returns the message timestamp as a time.
func (m *Message) Time() time.Time {
	sec, frac := math.Modf(m.Timestamp)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// payload returns the packed [timestamp, title, content, fields] as
// LXMessage.pack builds it.
func (m *Message) payload() ([]byte, error) {
	if m.Timestamp == 0 || math.IsNaN(m.Timestamp) || math.IsInf(m.Timestamp, 0) {
		return nil, fmt.Errorf("timestamp %v not set: %w", m.Timestamp, ErrFormat)
	}
	fields := m.Fields
	if fields == nil {
		fields = Fields{}
	}
	return msgpack.Array(msgpack.Float(m.Timestamp), msgpack.Bin(m.Title), msgpack.Bin(m.Content), fields.Value()).Encode(), nil
}

func (m *Message) hashedPart() ([]byte, error) {
	if m.Source.IsZero() {
		return nil, fmt.Errorf("message source not set: %w", ErrFormat)
	}
	p, err := m.payload()
	if err != nil {
		return nil, err
	}
	h := make([]byte, 0, 2*DestinationLength+len(p))
	h = append(h, m.Destination[:]...)
	h = append(h, m.Source[:]...)
	return append(h, p...), nil
}

// ComputeID returns the message id without signing (Source must be set):
// what a stamp is computed over before Pack.
func (m *Message) ComputeID() (wire.FullHash, error) {
	h, err := m.hashedPart()
	if err != nil {
		return wire.FullHash{}, err
	}
	return wire.SHA256(h), nil
}

// DeliveryHash returns the lxmf.delivery destination hash of an identity.
func DeliveryHash(id *identity.Identity) wire.Hash {
	h, _ := identity.DestinationHash(id, AppName, "delivery") // constant names cannot fail
	return h
}

// Pack signs the message with the source identity and builds Packed
// (LXMessage.pack): the id is the SHA-256 of destination || source ||
// payload, the signature covers destination || source || payload || id,
// and a Stamp, if set, is appended to the payload after signing. Source is
// set from the identity; a different non-zero Source is an error.
func (m *Message) Pack(source *identity.Identity) error {
	if source == nil || !source.HasPrivateKey() {
		return fmt.Errorf("pack: %w", identity.ErrNoPrivateKey)
	}
	src := DeliveryHash(source)
	if !m.Source.IsZero() && m.Source != src {
		return fmt.Errorf("pack: %w", ErrSourceMismatch)
	}
	m.Source = src
	hashed, err := m.hashedPart()
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	id := wire.SHA256(hashed)
	sig, err := source.Sign(append(bytes.Clone(hashed), id[:]...))
	if err != nil {
		return fmt.Errorf("pack: sign: %w", err)
	}
	payload := hashed[2*DestinationLength:]
	packed := make([]byte, 0, HeaderLength+len(payload)+len(m.Stamp)+5)
	packed = append(packed, m.Destination[:]...)
	packed = append(packed, m.Source[:]...)
	packed = append(packed, sig...)
	if m.Stamp != nil {
		// [ts, title, content, fields] becomes [ts, title, content, fields, stamp]
		packed = append(packed, 0x95)
		packed = append(packed, payload[1:]...)
		packed = msgpack.Bin(m.Stamp).AppendTo(packed)
	} else {
		packed = append(packed, payload...)
	}
	m.ID, m.Signature, m.Packed, m.hashed = id, sig, packed, hashed
	return nil
}

// ContentSize is the reference's content_size: the packed payload (with
// stamp) less timestamp and structure overhead; it decides the delivery
// representation.
func (m *Message) ContentSize() int {
	if len(m.Packed) < HeaderLength {
		return 0
	}
	return len(m.Packed) - HeaderLength - 16
}

// Opportunistic returns the opportunistic packet form: Packed without the
// destination hash, which the packet's destination implies.
func (m *Message) Opportunistic() ([]byte, error) {
	if len(m.Packed) < HeaderLength {
		return nil, ErrNotPacked
	}
	return m.Packed[DestinationLength:], nil
}

// Plan decides the method and representation for a desired opportunistic
// or direct delivery as LXMessage.pack does: opportunistic falls back to
// direct when the content exceeds one encrypted packet, direct uses a
// resource above one link packet. Propagated and paper forms decide from
// their own sizes (PropagationRepresentation, PaperURI).
func (m *Message) Plan(desired Method) (Method, Representation, error) {
	if len(m.Packed) < HeaderLength {
		return 0, 0, ErrNotPacked
	}
	size := m.ContentSize()
	switch desired {
	case MethodOpportunistic:
		if size <= EncryptedPacketMaxContent {
			return MethodOpportunistic, RepresentationPacket, nil
		}
		fallthrough
	case MethodDirect:
		if size <= LinkPacketMaxContent {
			return MethodDirect, RepresentationPacket, nil
		}
		return MethodDirect, RepresentationResource, nil
	}
	return 0, 0, fmt.Errorf("plan method %d: %w", desired, ErrFormat)
}

// Unpack parses a packed message (the direct form, or an opportunistic or
// decrypted propagated payload with its destination hash put back) as
// LXMessage.unpack_from_bytes does, and computes its id. It does not check
// the signature: call Verify. Limits zero fields mean defaults; the message
// keeps its own copy of packed.
//
// Like the reference, when a stamp is present the id is computed over the
// first four payload elements re-packed canonically, otherwise over the
// payload bytes as received (trailing bytes after the payload included).
func Unpack(packed []byte, lim msgpack.Limits) (*Message, error) {
	if len(packed) <= HeaderLength {
		return nil, fmt.Errorf("unpack: %d bytes: %w", len(packed), ErrFormat)
	}
	b := bytes.Clone(packed)
	raw := b[HeaderLength:]
	v, _, err := msgpack.DecodeValuePrefix(raw, lim)
	if err != nil {
		return nil, fmt.Errorf("unpack payload: %w", err)
	}
	if v.Kind() != msgpack.KindArray || v.Len() < 4 {
		return nil, fmt.Errorf("unpack: payload is %s of %d: %w", v.Kind(), v.Len(), ErrFormat)
	}
	el := v.Elems()
	m := &Message{Signature: b[2*DestinationLength : HeaderLength], Packed: b}
	copy(m.Destination[:], b[:DestinationLength])
	copy(m.Source[:], b[DestinationLength:2*DestinationLength])
	hashPayload := raw
	if len(el) > 4 {
		if s, ok := el[4].AsBin(); ok {
			m.Stamp = s
		}
		hashPayload = msgpack.Array(el[:4]...).Encode()
	}
	ts, ok := el[0].AsNumber()
	if !ok {
		return nil, fmt.Errorf("unpack: timestamp is %s: %w", el[0].Kind(), ErrFormat)
	}
	m.Timestamp = ts
	if m.Title, ok = el[1].AsBytes(); !ok {
		return nil, fmt.Errorf("unpack: title is %s: %w", el[1].Kind(), ErrFormat)
	}
	if m.Content, ok = el[2].AsBytes(); !ok {
		return nil, fmt.Errorf("unpack: content is %s: %w", el[2].Kind(), ErrFormat)
	}
	if m.Fields, err = FieldsFromValue(el[3]); err != nil {
		return nil, fmt.Errorf("unpack: %w", err)
	}
	m.hashed = make([]byte, 0, 2*DestinationLength+len(hashPayload))
	m.hashed = append(append(m.hashed, b[:2*DestinationLength]...), hashPayload...)
	m.ID = wire.SHA256(m.hashed)
	return m, nil
}

// UnpackOpportunistic unpacks the payload of an opportunistic packet,
// whose destination hash is the packet's destination
// (LXMRouter.delivery_packet).
func UnpackOpportunistic(data []byte, destination wire.Hash, lim msgpack.Limits) (*Message, error) {
	b := make([]byte, 0, DestinationLength+len(data))
	return Unpack(append(append(b, destination[:]...), data...), lim)
}

// Verify checks the signature with the source's public identity. It returns
// ErrSourceUnknown when source is nil (the caller does not know it),
// ErrSourceMismatch when source is not the message's source, and
// ErrSignatureInvalid when the signature does not verify.
func (m *Message) Verify(source *identity.Identity) error {
	if m.hashed == nil {
		return ErrNotPacked
	}
	if source == nil {
		return ErrSourceUnknown
	}
	if DeliveryHash(source) != m.Source {
		return ErrSourceMismatch
	}
	signed := make([]byte, 0, len(m.hashed)+len(m.ID))
	signed = append(append(signed, m.hashed...), m.ID[:]...)
	if !source.Verify(m.Signature, signed) {
		return ErrSignatureInvalid
	}
	return nil
}
