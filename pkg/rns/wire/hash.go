package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Hash is a truncated (16-byte) SHA-256 hash: a destination hash, identity
// hash, transport id or link id. It is comparable and usable as a map key.
type Hash [TruncatedHashLen]byte

// FullHash is a full SHA-256 hash, for example a packet hash.
type FullHash [FullHashLen]byte

// NameHash is the 10-byte hash of a destination's expanded name.
type NameHash [NameHashLen]byte

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether every byte of the hash is zero.
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns the hash in lowercase hex.
func (h FullHash) String() string { return hex.EncodeToString(h[:]) }

// Truncated returns the first 16 bytes of the full hash, as the reference's
// truncated hashes do (for example Packet.truncated_packet_hash).
func (h FullHash) Truncated() Hash {
	var t Hash
	copy(t[:], h[:TruncatedHashLen])
	return t
}

// String returns the name hash in lowercase hex.
func (h NameHash) String() string { return hex.EncodeToString(h[:]) }

// SHA256 returns the full SHA-256 hash of b (Identity.full_hash).
func SHA256(b []byte) FullHash { return sha256.Sum256(b) }

// TruncatedSHA256 returns the first 16 bytes of SHA-256 of b (Identity.truncated_hash).
func TruncatedSHA256(b []byte) Hash { return SHA256(b).Truncated() }

// HashFromBytes copies a 16-byte slice into a Hash.
func HashFromBytes(b []byte) (Hash, error) {
	var h Hash
	if len(b) != TruncatedHashLen {
		return h, fmt.Errorf("hash of %d bytes, want %d: %w", len(b), TruncatedHashLen, ErrLength)
	}
	copy(h[:], b)
	return h, nil
}

// ParseHash decodes a 32-character hex string into a Hash.
func ParseHash(s string) (Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return Hash{}, fmt.Errorf("parse hash: %w", err)
	}
	return HashFromBytes(b)
}

// DestinationHash returns the destination hash for a name hash and an
// identity hash: the truncated SHA-256 of name_hash || identity_hash
// (Destination.hash). A nil identityHash gives the hash of a PLAIN
// destination, which hashes the name hash alone.
func DestinationHash(nameHash NameHash, identityHash *Hash) Hash {
	var material [NameHashLen + TruncatedHashLen]byte
	copy(material[:], nameHash[:])
	if identityHash == nil {
		return TruncatedSHA256(material[:NameHashLen])
	}
	copy(material[NameHashLen:], identityHash[:])
	return TruncatedSHA256(material[:])
}
