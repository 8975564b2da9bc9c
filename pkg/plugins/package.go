package plugins

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Package file names inside the zip.
const (
	ManifestFile  = "manifest.json"
	WasmFile      = "plugin.wasm"
	SignatureFile = "plugin.sig"
)

// signDomain separates plugin signatures from every other use of a publisher key.
const signDomain = "reticle-plugin-v1\x00"

// DefaultMaxModuleBytes caps plugin.wasm unless Options say otherwise.
const DefaultMaxModuleBytes = 16 << 20

// Errors a package is refused with.
var (
	ErrInvalidPackage = errors.New("invalid plugin package")
	ErrUnsigned       = errors.New("plugin package is not signed")
	ErrBadSignature   = errors.New("plugin signature does not verify")
	ErrUntrustedKey   = errors.New("plugin publisher key is not trusted")
	ErrDowngrade      = errors.New("plugin version is not newer than the installed one")
	ErrTooLarge       = errors.New("plugin module is too large")
)

// Package is a plugin package as read from its file, not yet verified.
type Package struct {
	Manifest      Manifest
	ManifestBytes []byte
	Wasm          []byte
	Signature     []byte
}

// PublisherKey is an ed25519 publisher key the owner trusts.
type PublisherKey struct {
	ID    string // KeyID of Key
	Name  string
	Key   ed25519.PublicKey
	Added int64 // unix seconds
}

// KeyID is the id a manifest names its publisher key by: the first 8 bytes of sha256(key), in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignedBytes is what a publisher signs: the domain prefix, sha256(manifest) and sha256(wasm).
func SignedBytes(manifest, wasm []byte) []byte {
	m := sha256.Sum256(manifest)
	w := sha256.Sum256(wasm)
	out := make([]byte, 0, len(signDomain)+64)
	out = append(out, signDomain...)
	out = append(out, m[:]...)
	return append(out, w[:]...)
}

// Sign signs manifest and wasm with priv.
func Sign(priv ed25519.PrivateKey, manifest, wasm []byte) []byte {
	return ed25519.Sign(priv, SignedBytes(manifest, wasm))
}

// WasmSHA256 is the hex sha256 of a module.
func WasmSHA256(wasm []byte) string {
	s := sha256.Sum256(wasm)
	return hex.EncodeToString(s[:])
}

// ReadPackage parses a package zip of at most maxModule bytes of wasm. It checks the layout and the
// manifest, not the signature: call [Package.Verify] before using anything from it.
func ReadPackage(b []byte, maxModule int) (*Package, error) {
	if maxModule <= 0 {
		maxModule = DefaultMaxModuleBytes
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip file", ErrInvalidPackage)
	}
	if len(zr.File) > 3 {
		return nil, fmt.Errorf("%w: %d entries, want %s, %s and %s", ErrInvalidPackage, len(zr.File), ManifestFile, WasmFile, SignatureFile)
	}
	p := &Package{}
	for _, f := range zr.File {
		var dst *[]byte
		limit := int64(MaxManifestBytes)
		switch f.Name {
		case ManifestFile:
			dst = &p.ManifestBytes
		case WasmFile:
			dst, limit = &p.Wasm, int64(maxModule)
		case SignatureFile:
			dst, limit = &p.Signature, ed25519.SignatureSize
		default:
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrInvalidPackage, f.Name)
		}
		if *dst != nil {
			return nil, fmt.Errorf("%w: %s appears twice", ErrInvalidPackage, f.Name)
		}
		if f.UncompressedSize64 > uint64(limit) { //nolint:gosec // limit is positive
			if f.Name == WasmFile {
				return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, f.UncompressedSize64, limit)
			}
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidPackage, f.Name, limit)
		}
		data, err := readCapped(f, limit)
		if err != nil {
			return nil, err
		}
		*dst = data
	}
	if p.ManifestBytes == nil || p.Wasm == nil {
		return nil, fmt.Errorf("%w: %s and %s are required", ErrInvalidPackage, ManifestFile, WasmFile)
	}
	if p.Signature == nil {
		return nil, ErrUnsigned
	}
	m, err := ParseManifest(p.ManifestBytes)
	if err != nil {
		return nil, err
	}
	p.Manifest = m
	return p, nil
}

// readCapped reads a zip entry, refusing more than limit bytes whatever its header claims.
func readCapped(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPackage, f.Name, err) //nolint:errorlint // text only
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPackage, f.Name, err) //nolint:errorlint // text only
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidPackage, f.Name, limit)
	}
	return data, nil
}

// Verify checks p's signature against the trusted key its manifest names.
func (p *Package) Verify(trusted []PublisherKey) (PublisherKey, error) {
	return verifySignature(p.Manifest.PublisherKeyID, p.ManifestBytes, p.Wasm, p.Signature, trusted)
}

func verifySignature(keyID string, manifest, wasm, sig []byte, trusted []PublisherKey) (PublisherKey, error) {
	if len(sig) == 0 {
		return PublisherKey{}, ErrUnsigned
	}
	for _, k := range trusted {
		if k.ID != keyID {
			continue
		}
		if len(k.Key) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize ||
			!ed25519.Verify(k.Key, SignedBytes(manifest, wasm), sig) {
			return PublisherKey{}, fmt.Errorf("%w with publisher key %s", ErrBadSignature, keyID)
		}
		return k, nil
	}
	return PublisherKey{}, fmt.Errorf("%w: %s", ErrUntrustedKey, keyID)
}

// BuildPackage writes a package zip from its parts (used by the signing tool and tests).
func BuildPackage(manifest, wasm, sig []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{ManifestFile, manifest}, {WasmFile, wasm}, {SignatureFile, sig}} {
		if e.data == nil {
			continue
		}
		w, err := zw.Create(e.name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
