package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length bounds, in characters (runes) and bytes.
const (
	MinPasswordLen      = 12
	MaxPasswordBytes    = 1024
	argon2SaltLen       = 16
	argon2KeyLen        = 32
	maxArgon2MemoryKiB  = 1 << 20 // 1 GiB: refuse absurd stored parameters
	maxArgon2Iterations = 64
)

// HashParams are the argon2id cost parameters.
type HashParams struct {
	MemoryKiB  uint32
	Iterations uint32
	Threads    uint8
}

// DefaultHashParams follow the OWASP argon2id minimum (19 MiB, 2 passes, 1 lane), which a Raspberry Pi
// computes in well under a second. Stored hashes carry their parameters, so raising these later keeps old
// hashes valid.
func DefaultHashParams() HashParams {
	return HashParams{MemoryKiB: 19 * 1024, Iterations: 2, Threads: 1}
}

var errBadHash = errors.New("malformed password hash")

// CheckPasswordPolicy returns ErrWeakPassword unless pw has 12 to 1024 bytes worth of at least 12
// characters.
func CheckPasswordPolicy(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > MaxPasswordBytes {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword returns a PHC-style argon2id string: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func HashPassword(pw string, p HashParams) (string, error) {
	salt := make([]byte, argon2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Threads, argon2KeyLen)
	releaseHashMemory()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations,
		p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the encoded hash, comparing in constant time.
func VerifyPassword(pw, encoded string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Threads,
		uint32(len(want))) //nolint:gosec // G115: decodeHash accepts keys of 16 to 64 bytes only
	releaseHashMemory()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// releaseHashMemory hands argon2id's memory (tens of MB per hash) back to the OS in the background:
// hashes are rare (a login, a password change), and without this the idle node keeps the last one's
// memory resident for minutes.
func releaseHashMemory() { go debug.FreeOSMemory() }

func decodeHash(encoded string) (HashParams, []byte, []byte, error) {
	var p HashParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxArgon2MemoryKiB || p.Iterations == 0 ||
		p.Iterations > maxArgon2Iterations || p.Threads == 0 {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
