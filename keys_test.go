package reticle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
)

func TestEmbeddedCosignPubIsP256(t *testing.T) {
	blk, rest := pem.Decode(CosignPublicKey())
	if blk == nil || blk.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("cosign.pub is not a single PEM PUBLIC KEY block")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := pub.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("cosign.pub holds %T, want ECDSA P-256", pub)
	}
	if CosignPublicKeyOverridden() {
		t.Fatal("override set in a plain test build")
	}
}

func TestCosignPublicKeyReturnsACopy(t *testing.T) {
	a := CosignPublicKey()
	a[0] ^= 0xff
	if b := CosignPublicKey(); b[0] == a[0] {
		t.Fatal("caller can modify the embedded key")
	}
}

// The override is a link-time variable; the test sets it directly, as -ldflags -X would.
func TestCosignPublicKeyOverride(t *testing.T) {
	const pemKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
	t.Cleanup(func() { cosignPubOverride = "" })
	for name, tc := range map[string]struct{ in, want string }{
		"base64": {base64.StdEncoding.EncodeToString([]byte(pemKey + "\n")), pemKey + "\n"},
		"raw":    {pemKey, pemKey + "\n"},
		"broken": {"%%%not base64", ""},
	} {
		t.Run(name, func(t *testing.T) {
			cosignPubOverride = tc.in
			if got := string(CosignPublicKey()); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
			if !CosignPublicKeyOverridden() {
				t.Fatal("override not reported")
			}
		})
	}
}
