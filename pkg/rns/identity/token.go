package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Token key sizes (Token.__init__): a 64-byte key selects AES-256-CBC, a
// 32-byte key AES-128-CBC. The first half signs (HMAC-SHA256), the second
// half encrypts.
const (
	TokenKeyLen       = 64
	TokenKeyLenAES128 = 32
	tokenIVLen        = 16
	tokenMACLen       = 32
)

// Token is the reference's modified Fernet (RNS/Cryptography/Token.py):
//
//	iv(16) || AES-CBC(PKCS#7(plaintext)) || HMAC-SHA256(signing_key, iv || ciphertext)
//
// It carries no version or timestamp. A Token is safe for concurrent use.
type Token struct {
	signingKey []byte
	block      cipher.Block
}

// NewToken makes a token from a 64-byte (AES-256) or 32-byte (AES-128) key.
// GROUP destinations use a Token with their shared key.
func NewToken(key []byte) (*Token, error) {
	if len(key) != TokenKeyLen && len(key) != TokenKeyLenAES128 {
		return nil, fmt.Errorf("token key of %d bytes: %w", len(key), ErrKeyLength)
	}
	half := len(key) / 2
	block, err := aes.NewCipher(key[half:])
	if err != nil {
		return nil, fmt.Errorf("token cipher: %w", err)
	}
	return &Token{signingKey: append([]byte(nil), key[:half]...), block: block}, nil
}

// GenerateGroupKey returns a fresh random 64-byte token key, as
// Destination.create_keys does for GROUP destinations.
func GenerateGroupKey() ([]byte, error) {
	k := make([]byte, TokenKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate group key: %w", err)
	}
	return k, nil
}

// TokenSize returns the token length for a plaintext of n bytes.
func TokenSize(n int) int { return tokenIVLen + (n/aes.BlockSize+1)*aes.BlockSize + tokenMACLen }

// Encrypt returns a token for plaintext with a random IV.
func (t *Token) Encrypt(plaintext []byte) ([]byte, error) {
	padded := TokenSize(len(plaintext)) - tokenIVLen - tokenMACLen
	out := make([]byte, tokenIVLen+padded, tokenIVLen+padded+tokenMACLen)
	if _, err := rand.Read(out[:tokenIVLen]); err != nil {
		return nil, fmt.Errorf("token iv: %w", err)
	}
	body := out[tokenIVLen:]
	copy(body, PadPKCS7(plaintext))
	cipher.NewCBCEncrypter(t.block, out[:tokenIVLen]).CryptBlocks(body, body)
	return t.appendMAC(out), nil
}

func (t *Token) appendMAC(signed []byte) []byte {
	m := hmac.New(sha256.New, t.signingKey)
	m.Write(signed)
	return m.Sum(signed)
}

// VerifyHMAC reports, in constant time, whether the token's trailing
// HMAC-SHA256 matches (Token.verify_hmac). Tokens of 32 bytes or less fail
// with ErrTokenShort, as in the reference.
func (t *Token) VerifyHMAC(token []byte) (bool, error) {
	if len(token) <= tokenMACLen {
		return false, fmt.Errorf("token of %d bytes: %w", len(token), ErrTokenShort)
	}
	signed, mac := token[:len(token)-tokenMACLen], token[len(token)-tokenMACLen:]
	m := hmac.New(sha256.New, t.signingKey)
	m.Write(signed)
	var sum [tokenMACLen]byte
	return subtle.ConstantTimeCompare(m.Sum(sum[:0]), mac) == 1, nil
}

// Decrypt verifies the token's HMAC in constant time, then decrypts it and
// removes the padding with UnpadPKCS7, exactly as Token.decrypt does
// (including the reference's lax padding rule: only a valid HMAC gets this
// far, so only a key holder can choose the padding).
func (t *Token) Decrypt(token []byte) ([]byte, error) {
	if len(token) < tokenIVLen+aes.BlockSize+tokenMACLen {
		return nil, fmt.Errorf("token of %d bytes: %w", len(token), ErrTokenShort)
	}
	if ok, _ := t.VerifyHMAC(token); !ok {
		return nil, ErrTokenMAC
	}
	signed := token[:len(token)-tokenMACLen]
	ct := signed[tokenIVLen:]
	if len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("ciphertext of %d bytes: %w", len(ct), ErrTokenFormat)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(t.block, signed[:tokenIVLen]).CryptBlocks(pt, ct)
	return UnpadPKCS7(pt)
}

// PadPKCS7 returns data padded to a multiple of 16 bytes with PKCS#7: always
// 1 to 16 bytes, each holding the pad length (PKCS7.pad).
func PadPKCS7(data []byte) []byte {
	n := aes.BlockSize - len(data)%aes.BlockSize
	out := make([]byte, len(data)+n)
	copy(out, data)
	for i := len(data); i < len(out); i++ {
		out[i] = byte(n)
	}
	return out
}

// UnpadPKCS7 strips PKCS#7 padding the way the reference's PKCS7.unpad does:
// it removes as many bytes as the last byte says, fails only when that count
// exceeds 16 (or the data), and does not check the pad bytes' content; a last
// byte of 0 strips nothing. Matching this laxness keeps decryption identical
// to the reference; Decrypt only reaches it after the HMAC has verified.
func UnpadPKCS7(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("unpad empty data: %w", ErrTokenFormat)
	}
	n := int(data[len(data)-1])
	if n > aes.BlockSize || n > len(data) {
		return nil, fmt.Errorf("padding length %d: %w", n, ErrTokenFormat)
	}
	return data[:len(data)-n], nil
}

// HKDF derives length bytes from ikm with HKDF-SHA256 (RFC 5869) as
// RNS/Cryptography/HKDF.py does: an empty salt means 32 zero bytes, info may
// be nil. Beyond 255 blocks the reference lets the one-byte block counter
// wrap to 0 instead of failing; HKDF does the same, so long IFAC masks match.
func HKDF(length int, ikm, salt, info []byte) ([]byte, error) {
	if length < 1 {
		return nil, fmt.Errorf("hkdf length %d: %w", length, ErrKeyLength)
	}
	if len(salt) == 0 {
		salt = make([]byte, sha256.Size)
	}
	ext := hmac.New(sha256.New, salt)
	ext.Write(ikm)
	prk := ext.Sum(nil)

	m := hmac.New(sha256.New, prk)
	out := make([]byte, 0, (length+sha256.Size-1)/sha256.Size*sha256.Size)
	var block []byte
	for i := 0; len(out) < length; i++ {
		m.Reset()
		m.Write(block)
		m.Write(info)
		m.Write([]byte{byte(i + 1)})
		out = m.Sum(out)
		block = out[len(out)-sha256.Size:]
	}
	return out[:length], nil
}

// deriveTokenKey is the HKDF step of Identity.encrypt/decrypt: 64 bytes from
// the X25519 shared secret, salted with the receiving identity's hash.
func deriveTokenKey(shared []byte, salt wire.Hash) ([]byte, error) {
	return HKDF(TokenKeyLen, shared, salt[:], nil)
}
