package integrity

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of them, so callers can tell
// the cases apart with errors.Is; the error text is one line that names the failing file or signature.
var (
	// ErrNoManifest means a release build found neither a manifest nor a bundle.
	ErrNoManifest = errors.New("no release manifest found")
	// ErrManifestMissing means the bundle exists but the manifest it signs does not.
	ErrManifestMissing = errors.New("manifest missing")
	// ErrBundleMissing means the manifest exists but its signature bundle does not.
	ErrBundleMissing = errors.New("signature bundle missing")
	// ErrBundleMalformed means the bundle is not a readable Sigstore bundle.
	ErrBundleMalformed = errors.New("signature bundle malformed")
	// ErrWrongKey means the bundle was signed by a key other than the trusted one.
	ErrWrongKey = errors.New("signed with the wrong key")
	// ErrBadSignature means the signature does not verify against the trusted key.
	ErrBadSignature = errors.New("bad signature")
	// ErrManifestTampered means the manifest bytes are not the bytes that were signed.
	ErrManifestTampered = errors.New("manifest tampered")
	// ErrManifestMalformed means the manifest is not a valid version 1 manifest.
	ErrManifestMalformed = errors.New("manifest malformed")
	// ErrFileMismatch means a listed file's SHA-256 or size differs from the manifest.
	ErrFileMismatch = errors.New("file hash mismatch")
	// ErrFileMissing means a listed file does not exist.
	ErrFileMissing = errors.New("file missing")
	// ErrFileUnreadable means a listed file exists but could not be read.
	ErrFileUnreadable = errors.New("file unreadable")
	// ErrPublicKey means the trusted public key is absent or not a PEM public key.
	ErrPublicKey = errors.New("invalid trusted public key")
	// ErrPrivateKey means a signing key could not be parsed.
	ErrPrivateKey = errors.New("invalid private key")
	// ErrInvalidMode means a mode string is not enforce, warn or off.
	ErrInvalidMode = errors.New("invalid integrity mode")
	// ErrAtRestChanged means identity files changed while Reticle was stopped and the owner has not
	// acknowledged the change (enforce mode only).
	ErrAtRestChanged = errors.New("identity files changed while reticle was not running")
	// ErrAtRestNoRecord means identity files exist but no at-rest record vouches for them (integrity.json
	// missing, unreadable or unclean, and no database record), in enforce mode.
	ErrAtRestNoRecord = errors.New("no at-rest record for the identity files")
	// ErrAtRestState means integrity.json could not be written.
	ErrAtRestState = errors.New("at-rest state")
)

// Mode says what a failed check does.
type Mode string

// Modes.
const (
	// ModeEnforce makes a failed check an error: the caller refuses to start.
	ModeEnforce Mode = "enforce"
	// ModeWarn logs a failed check and carries on.
	ModeWarn Mode = "warn"
	// ModeOff skips the check.
	ModeOff Mode = "off"
)

// ParseMode parses "enforce", "warn" or "off".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeEnforce, ModeWarn, ModeOff:
		return m, nil
	default:
		return "", fmt.Errorf("%w: %q (want enforce, warn or off)", ErrInvalidMode, s)
	}
}
