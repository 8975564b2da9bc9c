package plugins

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

// Package file names inside the zip.
const (
	ManifestFile  = "manifest.json"
	WasmFile      = "plugin.wasm"
	SignatureFile = "plugin.sig"
	// BundleFile is the other way to sign: a Sigstore bundle (`cosign sign-blob --key --bundle`) over
	// SignedBytes, for publishers who sign with cosign keys. A package has one of the two.
	BundleFile = "plugin.sigstore.json"
)

// MaxBundleBytes caps plugin.sigstore.json.
const MaxBundleBytes = 64 << 10

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
	// Signature is plugin.sig (64 bytes, ed25519) or plugin.sigstore.json (a Sigstore bundle).
	Signature []byte
}

// PublisherKey is a publisher key the owner trusts: an ed25519 public key (32 bytes) or a cosign
// public key (ECDSA P-256, PEM, as `cosign generate-key-pair` writes cosign.pub).
type PublisherKey struct {
	ID    string // KeyID of Key
	Name  string
	Key   []byte
	Added int64 // unix seconds
}

// Key kinds.
const (
	KeyEd25519 = "ed25519"
	KeyCosign  = "cosign"
)

// Kind is KeyEd25519 or KeyCosign.
func (k PublisherKey) Kind() string {
	if len(k.Key) == ed25519.PublicKeySize {
		return KeyEd25519
	}
	return KeyCosign
}

// CosignKeyID is the id of a cosign public key (PEM): like KeyID, over its DER (PKIX) form. It also
// checks that the key is ECDSA P-256, what cosign makes; the normalised PEM is returned to store.
func CosignKeyID(pemKey []byte) (id string, normalised []byte, err error) {
	pub, err := integrity.ParsePublicKeyPEM(pemKey)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidKey, err) //nolint:errorlint // one reason
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return "", nil, fmt.Errorf("%w: a cosign key is ECDSA P-256", ErrInvalidKey)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidKey, err) //nolint:errorlint // one reason
	}
	if normalised, err = integrity.MarshalPublicKeyPEM(pub); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidKey, err) //nolint:errorlint // one reason
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8]), normalised, nil
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
		return nil, fmt.Errorf("%w: %d entries, want %s, %s and %s (or %s)", ErrInvalidPackage, len(zr.File), ManifestFile, WasmFile, SignatureFile, BundleFile)
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
		case BundleFile:
			dst, limit = &p.Signature, MaxBundleBytes
		default:
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrInvalidPackage, f.Name)
		}
		if *dst != nil {
			if dst == &p.Signature {
				return nil, fmt.Errorf("%w: two signatures (%s and %s); keep one", ErrInvalidPackage, SignatureFile, BundleFile)
			}
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
		if k.Kind() == KeyCosign {
			if err := integrity.VerifyBundle(SignedBytes(manifest, wasm), sig, k.Key); err != nil {
				return PublisherKey{}, fmt.Errorf("%w with cosign key %s: %v", ErrBadSignature, keyID, err) //nolint:errorlint // the reason, one line
			}
			return k, nil
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k.Key, SignedBytes(manifest, wasm), sig) {
			return PublisherKey{}, fmt.Errorf("%w with publisher key %s", ErrBadSignature, keyID)
		}
		return k, nil
	}
	return PublisherKey{}, fmt.Errorf("%w: %s", ErrUntrustedKey, keyID)
}

// BuildPackage writes a package zip from its parts (used by the signing tool and tests).
func BuildPackage(manifest, wasm, sig []byte) ([]byte, error) {
	return buildPackage(manifest, wasm, SignatureFile, sig)
}

// BuildBundlePackage writes a package signed with a Sigstore bundle (plugin.sigstore.json).
func BuildBundlePackage(manifest, wasm, bundle []byte) ([]byte, error) {
	return buildPackage(manifest, wasm, BundleFile, bundle)
}

func buildPackage(manifest, wasm []byte, sigName string, sig []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{ManifestFile, manifest}, {WasmFile, wasm}, {sigName, sig}} {
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
