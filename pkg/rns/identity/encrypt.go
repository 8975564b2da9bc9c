package identity

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Ratchet is a ratchet key pair: an X25519 key a destination rotates and
// announces so that senders encrypt to it instead of the identity key
// (Identity._generate_ratchet and friends). Safe for concurrent use.
type Ratchet struct {
	priv *ecdh.PrivateKey
	pub  []byte
}

// GenerateRatchet creates a fresh ratchet.
func GenerateRatchet() (*Ratchet, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ratchet: %w", err)
	}
	return &Ratchet{priv: k, pub: k.PublicKey().Bytes()}, nil
}

// RatchetFromBytes loads a ratchet from its 32-byte private key.
func RatchetFromBytes(b []byte) (*Ratchet, error) {
	if len(b) != wire.RatchetLen {
		return nil, fmt.Errorf("ratchet of %d bytes: %w", len(b), ErrKeyLength)
	}
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("load ratchet: %w", err)
	}
	return &Ratchet{priv: k, pub: k.PublicKey().Bytes()}, nil
}

// Bytes returns a copy of the 32-byte private key.
func (r *Ratchet) Bytes() []byte { return r.priv.Bytes() }

// PublicKey returns a copy of the 32-byte public key, the value announced
// (Identity._ratchet_public_bytes).
func (r *Ratchet) PublicKey() []byte { return append([]byte(nil), r.pub...) }

// ID returns the ratchet id of this ratchet's public key.
func (r *Ratchet) ID() [wire.RatchetIDLen]byte { return RatchetID(r.pub) }

// RatchetID returns the ratchet id of a ratchet public key: the first 10
// bytes of its SHA-256 (Identity._get_ratchet_id).
func RatchetID(ratchetPub []byte) [wire.RatchetIDLen]byte {
	full := wire.SHA256(ratchetPub)
	var id [wire.RatchetIDLen]byte
	copy(id[:], full[:])
	return id
}

// Encrypt encrypts plaintext to the identity (Identity.encrypt): a fresh
// ephemeral X25519 key agrees a secret with ratchetPub if it is not nil
// (a 32-byte ratchet public key from the destination's latest announce),
// else with the identity's X25519 key; HKDF-SHA256 salted with the identity
// hash turns it into a 64-byte token key. The result is
// ephemeral_public(32) || token.
func (id *Identity) Encrypt(plaintext, ratchetPub []byte) ([]byte, error) {
	target := id.encPub
	if target == nil {
		return nil, fmt.Errorf("encrypt: identity holds no public key: %w", ErrKeyLength)
	}
	if ratchetPub != nil {
		p, err := ecdh.X25519().NewPublicKey(ratchetPub)
		if err != nil {
			return nil, fmt.Errorf("encrypt: ratchet key: %w", err)
		}
		target = p
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("encrypt: ephemeral key: %w", err)
	}
	shared, err := eph.ECDH(target)
	if err != nil {
		return nil, fmt.Errorf("encrypt: key agreement: %w", err)
	}
	tok, err := id.tokenFor(shared)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	ct, err := tok.Encrypt(plaintext)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return append(eph.PublicKey().Bytes(), ct...), nil
}

func (id *Identity) tokenFor(shared []byte) (*Token, error) {
	key, err := deriveTokenKey(shared, id.hash)
	if err != nil {
		return nil, err
	}
	return NewToken(key)
}

func (id *Identity) decryptWith(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, ct []byte) ([]byte, error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("key agreement: %w", err)
	}
	tok, err := id.tokenFor(shared)
	if err != nil {
		return nil, err
	}
	return tok.Decrypt(ct)
}

// Decrypt decrypts a token made by Encrypt with the identity key.
func (id *Identity) Decrypt(token []byte) ([]byte, error) {
	pt, _, err := id.DecryptRatchets(token, nil, false)
	return pt, err
}

// DecryptRatchets decrypts a token as Identity.decrypt does with ratchets:
// it tries each ratchet in order, then, unless enforce is set, the identity
// key. It returns the index of the ratchet that worked, or -1 when the
// identity key did.
func (id *Identity) DecryptRatchets(token []byte, ratchets []*Ratchet, enforce bool) ([]byte, int, error) {
	if id.encPriv == nil {
		return nil, -1, fmt.Errorf("decrypt: %w", ErrNoPrivateKey)
	}
	if len(token) <= wire.HalfKeyLen {
		return nil, -1, fmt.Errorf("decrypt: token of %d bytes: %w", len(token), ErrTokenShort)
	}
	peer, err := ecdh.X25519().NewPublicKey(token[:wire.HalfKeyLen])
	if err != nil {
		return nil, -1, fmt.Errorf("decrypt: ephemeral key: %w", err)
	}
	ct := token[wire.HalfKeyLen:]
	for i, r := range ratchets {
		if r == nil {
			continue
		}
		if pt, err := id.decryptWith(r.priv, peer, ct); err == nil {
			return pt, i, nil
		}
	}
	if enforce {
		return nil, -1, fmt.Errorf("decrypt: %w", ErrRatchetEnforced)
	}
	pt, err := id.decryptWith(id.encPriv, peer, ct)
	if err != nil {
		return nil, -1, fmt.Errorf("decrypt: %w", err)
	}
	return pt, -1, nil
}
