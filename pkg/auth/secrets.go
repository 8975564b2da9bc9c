package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// setupAlphabet avoids characters people misread (0/O, 1/I/L, U).
const setupAlphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// randomSetupCode returns a code like ABCD-EFGH-JKMN-PQRS (16 symbols of 30, about 78 bits).
func randomSetupCode() (string, error) {
	const groups, size = 4, 4
	out := make([]byte, 0, groups*(size+1))
	buf := make([]byte, 1)
	for i := 0; i < groups*size; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		// Rejection sampling keeps the distribution uniform: 240 = 8*30.
		if buf[0] >= 240 {
			continue
		}
		if i > 0 && i%size == 0 {
			out = append(out, '-')
		}
		out = append(out, setupAlphabet[int(buf[0])%len(setupAlphabet)])
		i++
	}
	return string(out), nil
}

// normalizeSetupCode uppercases and drops separators and spaces, so "abcd efgh-..." matches.
func normalizeSetupCode(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < 64; i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
		case c >= 'a' && c <= 'z':
			out = append(out, c-'a'+'A')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// sha256Hex hashes a high-entropy secret for storage.
func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// mac returns HMAC-SHA256(key, label || 0 || msg).
func mac(key []byte, label, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// equalStrings compares two strings in constant time (for equal lengths).
func equalStrings(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
