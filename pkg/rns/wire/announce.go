package wire

import (
	"encoding/binary"
	"fmt"
	"time"
)

// AnnounceData is the payload of an announce packet, in the order
// Destination.announce writes it and Identity.validate_announce reads it:
//
//	public_key(64) name_hash(10) random_hash(10) [ratchet(32)] signature(64) [app_data]
//
// The ratchet is present exactly when the packet's context flag is set.
type AnnounceData struct {
	PublicKey  [PublicKeyLen]byte
	NameHash   NameHash
	RandomHash [RandomHashLen]byte
	// Ratchet is the announced ratchet public key (RatchetLen bytes), or nil.
	Ratchet   []byte
	Signature [SignatureLen]byte
	// AppData is the application data after the signature, nil when absent.
	AppData []byte
}

// ParseAnnounce splits an announce payload. hasRatchet is the packet's
// context flag. It rejects payloads shorter than the fixed part (the
// reference would slice short fields and then fail the signature check).
// The returned slices are copies.
func ParseAnnounce(data []byte, hasRatchet bool) (*AnnounceData, error) {
	need := AnnounceMinSize
	if hasRatchet {
		need = AnnounceRatchetMinSize
	}
	if len(data) < need {
		return nil, fmt.Errorf("parse announce: %d bytes, want at least %d: %w", len(data), need, ErrShortAnnounce)
	}
	a := new(AnnounceData)
	off := copy(a.PublicKey[:], data)
	off += copy(a.NameHash[:], data[off:])
	off += copy(a.RandomHash[:], data[off:])
	if hasRatchet {
		a.Ratchet = append([]byte(nil), data[off:off+RatchetLen]...)
		off += RatchetLen
	}
	off += copy(a.Signature[:], data[off:])
	if off < len(data) {
		a.AppData = append([]byte(nil), data[off:]...)
	}
	return a, nil
}

// ParseAnnouncePacket checks that p is an announce and parses its payload.
func ParseAnnouncePacket(p *Packet) (*AnnounceData, error) {
	if p.PacketType != Announce {
		return nil, fmt.Errorf("parse announce: packet type %d: %w", p.PacketType, ErrNotAnnounce)
	}
	return ParseAnnounce(p.Data, p.ContextFlag)
}

// HasRatchet reports whether the announce carries a ratchet; use it as the
// packet's context flag.
func (a *AnnounceData) HasRatchet() bool { return len(a.Ratchet) != 0 }

func (a *AnnounceData) checkRatchet() error {
	if len(a.Ratchet) != 0 && len(a.Ratchet) != RatchetLen {
		return fmt.Errorf("ratchet of %d bytes, want %d: %w", len(a.Ratchet), RatchetLen, ErrLength)
	}
	return nil
}

// Marshal encodes the announce payload.
func (a *AnnounceData) Marshal() ([]byte, error) {
	if err := a.checkRatchet(); err != nil {
		return nil, fmt.Errorf("marshal announce: %w", err)
	}
	out := make([]byte, 0, AnnounceMinSize+len(a.Ratchet)+len(a.AppData))
	out = append(out, a.PublicKey[:]...)
	out = append(out, a.NameHash[:]...)
	out = append(out, a.RandomHash[:]...)
	out = append(out, a.Ratchet...)
	out = append(out, a.Signature[:]...)
	return append(out, a.AppData...), nil
}

// SignedData returns the bytes the announce signature covers:
// destination_hash || public_key || name_hash || random_hash || ratchet || app_data.
func (a *AnnounceData) SignedData(destination Hash) ([]byte, error) {
	if err := a.checkRatchet(); err != nil {
		return nil, fmt.Errorf("announce signed data: %w", err)
	}
	out := make([]byte, 0, TruncatedHashLen+PublicKeyLen+NameHashLen+RandomHashLen+len(a.Ratchet)+len(a.AppData))
	out = append(out, destination[:]...)
	out = append(out, a.PublicKey[:]...)
	out = append(out, a.NameHash[:]...)
	out = append(out, a.RandomHash[:]...)
	out = append(out, a.Ratchet...)
	return append(out, a.AppData...), nil
}

// Emitted returns the emission time encoded in the random hash, in whole
// seconds (Transport.timebase_from_random_blob).
func (a *AnnounceData) Emitted() time.Time { return RandomHashTime(a.RandomHash) }

// RandomHashTime returns the Unix time in the last 5 bytes of an announce
// random hash (big-endian seconds).
func RandomHashTime(r [RandomHashLen]byte) time.Time {
	return time.Unix(int64(RandomHashTimestamp(r)), 0)
}

// RandomHashTimestamp returns the big-endian 40-bit value in the last 5 bytes
// of an announce random hash.
func RandomHashTimestamp(r [RandomHashLen]byte) uint64 {
	var b [8]byte
	copy(b[3:], r[5:])
	return binary.BigEndian.Uint64(b[:])
}

// NewRandomHash builds an announce random hash from 5 random bytes and an
// emission time, as Destination.announce does: random[0:5] || int(t) as 5
// big-endian bytes. Times before the epoch encode as 0.
func NewRandomHash(random [5]byte, t time.Time) [RandomHashLen]byte {
	var r [RandomHashLen]byte
	copy(r[:], random[:])
	s := t.Unix()
	if s < 0 {
		s = 0
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	copy(r[5:], b[3:])
	return r
}
