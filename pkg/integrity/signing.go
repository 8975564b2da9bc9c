package integrity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" block (PKIX, as in cosign.pub). Errors wrap [ErrPublicKey].
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: no PEM PUBLIC KEY block", ErrPublicKey)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPublicKey, oneLine(err.Error()))
	}
	return pub, nil
}

// MarshalPublicKeyPEM encodes a public key as a PEM "PUBLIC KEY" block, the format of cosign.pub.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPublicKey, oneLine(err.Error()))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM parses an unencrypted ECDSA P-256 private key in a PEM "PRIVATE KEY" (PKCS #8) or
// "EC PRIVATE KEY" (SEC 1) block. Errors wrap [ErrPrivateKey].
func ParsePrivateKeyPEM(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrPrivateKey)
	}
	var key any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block %q", ErrPrivateKey, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPrivateKey, oneLine(err.Error()))
	}
	return checkP256(key)
}

// ParsePKCS8PrivateKey parses a DER PKCS #8 ECDSA P-256 private key (what a decrypted cosign key holds).
func ParsePKCS8PrivateKey(der []byte) (*ecdsa.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPrivateKey, oneLine(err.Error()))
	}
	return checkP256(key)
}

func checkP256(key any) (*ecdsa.PrivateKey, error) {
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: want an ECDSA P-256 key, got %T", ErrPrivateKey, key)
	}
	return ec, nil
}

// KeyHint is the Sigstore key hint of a public key: base64(sha256(PKIX DER)), as cosign writes it.
func KeyHint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrPublicKey, oneLine(err.Error()))
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// keypair adapts a long-lived ECDSA P-256 key to sign.Keypair.
type keypair struct {
	priv *ecdsa.PrivateKey
	hint []byte
}

var _ sign.Keypair = (*keypair)(nil)

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *keypair) GetPublicKey() crypto.PublicKey { return &k.priv.PublicKey }

func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := MarshalPublicKeyPEM(&k.priv.PublicKey)
	return string(b), err
}

func (k *keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	return sig, digest[:], nil
}

// SignBundle signs data with an ECDSA P-256 key and returns a Sigstore v0.3 bundle (JSON) with a message
// signature, no certificate, no transparency log entry: what `cosign sign-blob --key` writes offline.
func SignBundle(ctx context.Context, data []byte, priv *ecdsa.PrivateKey) ([]byte, error) {
	if _, err := checkP256(priv); err != nil {
		return nil, err
	}
	hint, err := KeyHint(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: data}, &keypair{priv: priv, hint: []byte(hint)}, sign.BundleOptions{Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	b, err := (&bundle.Bundle{Bundle: pb}).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	return b, nil
}

// VerifyBundle checks offline that bundleJSON is a valid signature over data by the key in publicKeyPEM:
// no transparency log, no timestamps. The error wraps [ErrBundleMalformed], [ErrWrongKey],
// [ErrManifestTampered] (data is not what was signed), [ErrBadSignature] or [ErrPublicKey].
func VerifyBundle(data, bundleJSON, publicKeyPEM []byte) error {
	pub, err := ParsePublicKeyPEM(publicKeyPEM)
	if err != nil {
		return err
	}
	hint, err := KeyHint(pub)
	if err != nil {
		return err
	}
	if len(bundleJSON) > MaxBundleSize {
		return fmt.Errorf("%w: larger than %d bytes", ErrBundleMalformed, MaxBundleSize)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("%w: %s", ErrBundleMalformed, oneLine(err.Error()))
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBundleMalformed, oneLine(err.Error()))
	}
	if vc.Certificate() != nil {
		return fmt.Errorf("%w: bundle carries a certificate, expected a signature by the release key", ErrWrongKey)
	}
	pk := vc.PublicKey()
	if pk == nil {
		return fmt.Errorf("%w: no public key hint", ErrBundleMalformed)
	}
	if h := pk.Hint(); h != "" && h != hint {
		return fmt.Errorf("%w: bundle was signed by key %s, trusted key is %s", ErrWrongKey, trunc(h), hint)
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBundleMalformed, oneLine(err.Error()))
	}
	if ms := sc.MessageSignatureContent(); ms != nil {
		if alg := ms.DigestAlgorithm(); alg != protocommon.HashAlgorithm_SHA2_256.String() {
			return fmt.Errorf("%w: unsupported digest algorithm %q", ErrBundleMalformed, alg)
		}
		sum := sha256.Sum256(data)
		if !bytes.Equal(ms.Digest(), sum[:]) {
			return fmt.Errorf("%w: sha256 %s is not the signed digest %s", ErrManifestTampered,
				hex.EncodeToString(sum[:]), hex.EncodeToString(ms.Digest()))
		}
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPublicKey, oneLine(err.Error()))
	}
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBadSignature, oneLine(err.Error()))
	}
	policy := verify.NewPolicy(verify.WithArtifact(bytes.NewReader(data)), verify.WithKey())
	if _, err := v.Verify(&b, policy); err != nil {
		detail := "does not verify against the trusted key"
		if pk.Hint() == "" {
			detail += " (bundle names no key: corrupted signature or a different key)"
		}
		return fmt.Errorf("%w: %s: %s", ErrBadSignature, detail, oneLine(err.Error()))
	}
	return nil
}
