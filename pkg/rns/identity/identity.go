package identity

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Identity is a Reticulum identity (RNS/Identity.py): an X25519 key for
// encryption and an Ed25519 key for signatures. An Identity made from a
// public key only can verify and encrypt but not sign or decrypt. Make one
// with Generate, FromPrivateKey, FromPublicKey or Load; the zero value holds
// no key and fails every operation. An Identity is immutable and safe for
// concurrent use.
type Identity struct {
	encPriv *ecdh.PrivateKey   // nil for public-only identities
	sigPriv ed25519.PrivateKey // nil for public-only identities
	encPub  *ecdh.PublicKey
	sigPub  ed25519.PublicKey
	pub     [wire.PublicKeyLen]byte
	hash    wire.Hash
}

// Generate creates an identity with fresh random keys (Identity.create_keys).
func Generate() (*Identity, error) {
	enc, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate x25519 key: %w", err)
	}
	_, sig, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return fromKeys(enc, sig), nil
}

// FromPrivateKey loads an identity from its 64-byte private key: X25519
// private key (32) followed by the Ed25519 seed (32)
// (Identity.load_private_key). The X25519 half is used as given; the
// reference does not clamp it on storage either.
func FromPrivateKey(b []byte) (*Identity, error) {
	if len(b) != wire.PrivateKeyLen {
		return nil, fmt.Errorf("private key of %d bytes, want %d: %w", len(b), wire.PrivateKeyLen, ErrKeyLength)
	}
	enc, err := ecdh.X25519().NewPrivateKey(b[:wire.HalfKeyLen])
	if err != nil {
		return nil, fmt.Errorf("load x25519 private key: %w", err)
	}
	return fromKeys(enc, ed25519.NewKeyFromSeed(b[wire.HalfKeyLen:])), nil
}

func fromKeys(enc *ecdh.PrivateKey, sig ed25519.PrivateKey) *Identity {
	id := &Identity{encPriv: enc, sigPriv: sig, encPub: enc.PublicKey()}
	id.sigPub = sig.Public().(ed25519.PublicKey)
	copy(id.pub[:], id.encPub.Bytes())
	copy(id.pub[wire.HalfKeyLen:], id.sigPub)
	id.hash = wire.TruncatedSHA256(id.pub[:])
	return id
}

// FromPublicKey loads a public-only identity from its 64-byte public key:
// X25519 public key (32) followed by the Ed25519 public key (32)
// (Identity.load_public_key).
func FromPublicKey(b []byte) (*Identity, error) {
	if len(b) != wire.PublicKeyLen {
		return nil, fmt.Errorf("public key of %d bytes, want %d: %w", len(b), wire.PublicKeyLen, ErrKeyLength)
	}
	encPub, err := ecdh.X25519().NewPublicKey(b[:wire.HalfKeyLen])
	if err != nil {
		return nil, fmt.Errorf("load x25519 public key: %w", err)
	}
	id := &Identity{encPub: encPub, sigPub: ed25519.PublicKey(append([]byte(nil), b[wire.HalfKeyLen:]...))}
	copy(id.pub[:], b)
	id.hash = wire.TruncatedSHA256(id.pub[:])
	return id, nil
}

// Load reads an identity file as the reference writes it (Identity.to_file):
// exactly 64 bytes of private key.
// A symlinked file is refused with [ErrNotRegularFile].
func Load(path string) (*Identity, error) {
	f, err := OpenNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	b, err := io.ReadAll(io.LimitReader(f, wire.PrivateKeyLen+1))
	if err != nil {
		return nil, fmt.Errorf("load identity %s: %w", filepath.Base(path), err)
	}
	id, err := FromPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("load identity %s: %w", filepath.Base(path), err)
	}
	return id, nil
}

// Save writes the 64-byte private key to path with mode 0600, atomically:
// it writes a temporary file in the same directory, syncs it and renames it
// over path. The file is readable by the reference's Identity.from_file.
func (id *Identity) Save(path string) (err error) {
	prv, err := id.PrivateKey()
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if _, err = tmp.Write(prv); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	return nil
}

// HasPrivateKey reports whether the identity can sign and decrypt.
func (id *Identity) HasPrivateKey() bool { return id.encPriv != nil }

// PrivateKey returns a copy of the 64-byte private key (Identity.get_private_key).
func (id *Identity) PrivateKey() ([]byte, error) {
	if id.encPriv == nil {
		return nil, ErrNoPrivateKey
	}
	out := make([]byte, 0, wire.PrivateKeyLen)
	out = append(out, id.encPriv.Bytes()...)
	return append(out, id.sigPriv.Seed()...), nil
}

// PublicKey returns a copy of the 64-byte public key (Identity.get_public_key).
func (id *Identity) PublicKey() []byte { return append([]byte(nil), id.pub[:]...) }

// PublicKeyArray returns the 64-byte public key as an array.
func (id *Identity) PublicKeyArray() [wire.PublicKeyLen]byte { return id.pub }

// Hash returns the identity hash: the truncated SHA-256 of the public key.
func (id *Identity) Hash() wire.Hash { return id.hash }

// String returns the identity hash in hex.
func (id *Identity) String() string { return id.hash.String() }

// Sign signs message with the identity's Ed25519 key.
func (id *Identity) Sign(message []byte) ([]byte, error) {
	if id.sigPriv == nil {
		return nil, ErrNoPrivateKey
	}
	return ed25519.Sign(id.sigPriv, message), nil
}

// Verify reports whether signature is a valid Ed25519 signature of message
// by this identity (Identity.validate).
func (id *Identity) Verify(signature, message []byte) bool {
	return len(signature) == wire.SignatureLen && len(id.sigPub) == ed25519.PublicKeySize &&
		ed25519.Verify(id.sigPub, message, signature)
}

// FullHash returns the SHA-256 of b (Identity.full_hash).
func FullHash(b []byte) wire.FullHash { return wire.SHA256(b) }

// TruncatedHash returns the first 16 bytes of SHA-256 of b (Identity.truncated_hash).
func TruncatedHash(b []byte) wire.Hash { return wire.TruncatedSHA256(b) }
