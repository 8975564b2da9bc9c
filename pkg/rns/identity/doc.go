// Package identity implements Reticulum identities and the cryptography built
// on them, byte-for-byte as the Python reference (RNS 1.5.7) does it:
//
//   - Identity: an X25519 key pair for encryption and an Ed25519 key pair for
//     signatures; the 64-byte private key file layout (X25519 private key ||
//     Ed25519 seed) and 64-byte public key (X25519 public || Ed25519 public),
//     so identity files move between Reticle and the reference; the identity
//     hash (truncated SHA-256 of the public key).
//   - Destination names and hashes (Destination.expand_name, Destination.hash).
//   - Token encryption (RNS/Cryptography/Token.py): AES-256-CBC with PKCS#7 and
//     HMAC-SHA256, and Identity.encrypt/decrypt with an ephemeral X25519 key,
//     HKDF-SHA256 salted with the identity hash, and ratchets.
//   - Announce creation and validation (Destination.announce,
//     Identity.validate_announce).
//   - Interface access codes (Transport.handle_outgoing_ifac and
//     Transport.handle_ifac): IFAC lives here, not in wire, because it needs
//     HKDF and Ed25519.
//
// Primitives come from the Go standard library (crypto/ecdh, crypto/ed25519,
// crypto/aes, crypto/cipher, crypto/hmac, crypto/sha256); HKDF is expanded
// over crypto/hmac so that outputs longer than RFC 5869 allows (large IFAC
// masks) match the reference, whose block counter wraps at 256.
//
// May import: the standard library, pkg/rns/wire, golang.org/x/crypto.
package identity
