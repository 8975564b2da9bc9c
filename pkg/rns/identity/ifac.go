package identity

import (
	"crypto/ed25519"
	"crypto/subtle"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// ifacSalt is the HKDF salt for interface access keys (Reticulum.IFAC_SALT).
var ifacSalt = [32]byte{
	0xad, 0xf5, 0x4d, 0x88, 0x2c, 0x9a, 0x9b, 0x80, 0x77, 0x1e, 0xb4, 0x99, 0x5d, 0x70, 0x2d, 0x4a,
	0x3e, 0x73, 0x33, 0x91, 0xb2, 0xa0, 0xf5, 0x3f, 0x41, 0x6d, 0x9f, 0x90, 0x7e, 0x55, 0xcf, 0xf8,
}

// Default IFAC sizes in bytes, as the reference's interfaces set
// DEFAULT_IFAC_SIZE: 16 for IP-based interfaces (TCP, UDP, Auto, I2P), 8 for
// serial, KISS and RNode interfaces.
const (
	IFACSizeIP    = 16
	IFACSizeRadio = 8
)

// IFAC authenticates and masks packets on an interface configured with a
// network name and/or passphrase (interface access codes). The key
// derivation follows Reticulum._add_interface: origin = SHA-256(netname) ||
// SHA-256(passphrase) (each only when set), key = HKDF(64,
// SHA-256(origin), salt=IFAC_SALT); the key's second half is the Ed25519 seed
// that signs packets. Safe for concurrent use.
type IFAC struct {
	key    []byte
	signer ed25519.PrivateKey
	size   int
}

// NewIFAC derives the access key for a network name and passphrase (either
// may be empty, not both; an empty string means "not set", as in the
// reference's config) and an access code size in bytes (1..64; the
// reference configures it in bits and divides by 8).
func NewIFAC(netname, passphrase string, size int) (*IFAC, error) {
	if size < wire.IFACMinSize || size > wire.IFACMaxSize {
		return nil, fmt.Errorf("ifac size %d: %w", size, ErrIFACSize)
	}
	if netname == "" && passphrase == "" {
		return nil, ErrIFACConfig
	}
	var origin []byte
	if netname != "" {
		h := wire.SHA256([]byte(netname))
		origin = append(origin, h[:]...)
	}
	if passphrase != "" {
		h := wire.SHA256([]byte(passphrase))
		origin = append(origin, h[:]...)
	}
	originHash := wire.SHA256(origin)
	key, err := HKDF(wire.PrivateKeyLen, originHash[:], ifacSalt[:], nil)
	if err != nil {
		return nil, fmt.Errorf("ifac key: %w", err)
	}
	return &IFAC{key: key, signer: ed25519.NewKeyFromSeed(key[wire.HalfKeyLen:]), size: size}, nil
}

// Size returns the access code size in bytes.
func (c *IFAC) Size() int { return c.size }

// Key returns a copy of the 64-byte interface access key.
func (c *IFAC) Key() []byte { return append([]byte(nil), c.key...) }

// Signature returns the interface's IFAC signature: the access identity's
// signature of SHA-256 of the key (interface.ifac_signature, published with
// interface discovery).
func (c *IFAC) Signature() []byte {
	h := wire.SHA256(c.key)
	return ed25519.Sign(c.signer, h[:])
}

func (c *IFAC) code(raw []byte) []byte {
	return ed25519.Sign(c.signer, raw)[wire.SignatureLen-c.size:]
}

// Apply adds the access code to a marshalled packet and masks it
// (Transport.handle_outgoing_ifac): the code is the last Size bytes of the
// Ed25519 signature of raw; it is inserted after the two header bytes; a
// mask HKDF(len, code, salt=key) is XORed over everything except the code;
// the IFAC flag is set.
func (c *IFAC) Apply(raw []byte) ([]byte, error) {
	if len(raw) <= 2 {
		return nil, fmt.Errorf("ifac apply: %d bytes: %w", len(raw), wire.ErrShortPacket)
	}
	code := c.code(raw)
	n := len(raw) + c.size
	mask, err := HKDF(n, code, c.key, nil)
	if err != nil {
		return nil, fmt.Errorf("ifac mask: %w", err)
	}
	out := make([]byte, n)
	out[0] = (raw[0] | wire.FlagIFAC) ^ mask[0] | wire.FlagIFAC
	out[1] = raw[1] ^ mask[1]
	copy(out[2:], code)
	subtle.XORBytes(out[2+c.size:], raw[2:], mask[2+c.size:])
	return out, nil
}

// Remove checks and strips the access code of a received frame
// (Transport.handle_ifac) and returns the packet as the sender marshalled
// it. It fails with ErrIFACMissing when the IFAC flag is not set or the frame
// is too short, and ErrIFACInvalid when the code does not match.
func (c *IFAC) Remove(frame []byte) ([]byte, error) {
	if len(frame) <= 2+c.size || frame[0]&wire.FlagIFAC == 0 {
		return nil, ErrIFACMissing
	}
	code := frame[2 : 2+c.size]
	mask, err := HKDF(len(frame), code, c.key, nil)
	if err != nil {
		return nil, fmt.Errorf("ifac mask: %w", err)
	}
	out := make([]byte, len(frame)-c.size)
	out[0] = (frame[0] ^ mask[0]) &^ wire.FlagIFAC
	out[1] = frame[1] ^ mask[1]
	subtle.XORBytes(out[2:], frame[2+c.size:], mask[2+c.size:])
	if subtle.ConstantTimeCompare(c.code(out), code) != 1 {
		return nil, ErrIFACInvalid
	}
	return out, nil
}
