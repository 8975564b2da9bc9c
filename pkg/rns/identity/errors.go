package identity

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrKeyLength means a key has the wrong length.
	ErrKeyLength = errors.New("wrong key length")
	// ErrNoPrivateKey means the identity holds only a public key.
	ErrNoPrivateKey = errors.New("identity has no private key")
	// ErrName means an app name or aspect contains a dot.
	ErrName = errors.New("dots are not allowed in app names and aspects")
	// ErrTokenShort means a token is too short to hold IV, ciphertext and HMAC.
	ErrTokenShort = errors.New("token too short")
	// ErrTokenMAC means the token's HMAC does not verify.
	ErrTokenMAC = errors.New("token hmac invalid")
	// ErrTokenFormat means the ciphertext or its padding is malformed.
	ErrTokenFormat = errors.New("token ciphertext malformed")
	// ErrRatchetEnforced means no ratchet decrypted the token and the
	// identity key was not allowed to.
	ErrRatchetEnforced = errors.New("no ratchet could decrypt and ratchets are enforced")
	// ErrSignature means a signature does not verify.
	ErrSignature = errors.New("invalid signature")
	// ErrDestinationMismatch means an announce's destination hash is not the
	// hash of its name hash and identity.
	ErrDestinationMismatch = errors.New("announce destination hash mismatch")
	// ErrIFACSize means an interface access code size outside 1..64 bytes.
	ErrIFACSize = errors.New("ifac size out of range")
	// ErrIFACConfig means neither a network name nor a passphrase was given.
	ErrIFACConfig = errors.New("ifac needs a network name or a passphrase")
	// ErrIFACMissing means the packet lacks the IFAC flag or is too short to
	// carry an access code.
	ErrIFACMissing = errors.New("packet carries no interface access code")
	// ErrIFACInvalid means the access code does not match.
	ErrIFACInvalid = errors.New("invalid interface access code")
)
