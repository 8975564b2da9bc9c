package plugins

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

var okModule = onMessage(i32c(0))

func TestInstallRefusesBadPackages(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	m := f.manifest("good", "1.0.0", CapMessagesRead)
	mb := manifestJSON(t, m)
	sig := Sign(f.priv, mb, okModule)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	otherPub := otherKey.Public().(ed25519.PublicKey)
	mOther := m
	mOther.PublisherKeyID = KeyID(otherPub)
	mbOther := manifestJSON(t, mOther)

	tampered := append([]byte(nil), okModule...)
	tampered[len(tampered)-2] ^= 0x01
	mbTampered := []byte(strings.Replace(string(mb), `"1.0.0"`, `"1.0.1"`, 1))

	cases := []struct {
		name     string
		manifest []byte
		wasm     []byte
		sig      []byte
		want     error
	}{
		{"unsigned", mb, okModule, nil, ErrUnsigned},
		{"tampered wasm byte", mb, tampered, sig, ErrBadSignature},
		{"tampered manifest", mbTampered, okModule, sig, ErrBadSignature},
		{"wrong key for the named id", mb, okModule, Sign(otherKey, mb, okModule), ErrBadSignature},
		{"untrusted key", mbOther, okModule, Sign(otherKey, mbOther, okModule), ErrUntrustedKey},
		{"truncated signature", mb, okModule, sig[:10], ErrBadSignature},
		{"not wasm", mb, []byte("hello"), Sign(f.priv, mb, []byte("hello")), ErrBadModule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkg, err := BuildPackage(c.manifest, c.wasm, c.sig)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.mg.Install(ctx, pkg)
			if !errors.Is(err, c.want) {
				t.Fatalf("install: %v, want %v", err, c.want)
			}
			if _, err := f.mg.Get(ctx, "good"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused package was stored: %v", err)
			}
		})
	}
	if n := f.rec.events("good", EventRefused); n < len(cases)-1 {
		t.Errorf("refusals audited: %d", n)
	}
}

func TestInstallLeavesDisabledAndRefusesDowngrade(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	info, err := f.mg.Install(ctx, f.pkg(f.manifest("p", "1.2.0", CapMessagesRead, CapLog), okModule))
	if err != nil {
		t.Fatal(err)
	}
	if info.Enabled || len(info.Granted) != 0 || len(info.Requested) != 2 || info.PublisherName != "test publisher" {
		t.Fatalf("fresh install: %+v", info)
	}
	for _, v := range []string{"1.2.0", "1.1.9", "1.2.0-rc1", "0.9.0"} {
		if _, err := f.mg.Install(ctx, f.pkg(f.manifest("p", v, CapMessagesRead), okModule)); !errors.Is(err, ErrDowngrade) {
			t.Errorf("install %s over 1.2.0: %v, want ErrDowngrade", v, err)
		}
	}
	if _, err := f.mg.SetGrants(ctx, "p", []Capability{CapMessagesRead, CapLog}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.SetGrants(ctx, "p", []Capability{CapKV}); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("grant of an unrequested capability: %v", err)
	}
	if _, err := f.mg.SetEnabled(ctx, "p", true); err != nil {
		t.Fatal(err)
	}
	up, err := f.mg.Install(ctx, f.pkg(f.manifest("p", "1.10.0", CapMessagesRead), okModule))
	if err != nil {
		t.Fatal(err)
	}
	if up.Enabled || up.Running || len(up.Granted) != 0 || up.Version != "1.10.0" {
		t.Fatalf("an upgrade must start disabled without grants: %+v", up)
	}
}

func TestStoredPackageReverifiedOnEnable(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.mg.Install(ctx, f.pkg(f.manifest("p", "1.0.0", CapMessagesRead), okModule)); err != nil {
		t.Fatal(err)
	}
	r := f.rec.plugins["p"]
	r.Wasm = onMessage(i32c(1)) // swapped on disk after install
	f.rec.plugins["p"] = r
	if _, err := f.mg.SetGrants(ctx, "p", []Capability{CapMessagesRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.SetEnabled(ctx, "p", true); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("enable of a swapped module: %v", err)
	}
	if err := f.mg.UntrustKey(ctx, KeyID(f.pub)); err != nil {
		t.Fatal(err)
	}
	r.Wasm = okModule
	f.rec.plugins["p"] = r
	if _, err := f.mg.SetEnabled(ctx, "p", true); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("enable after the key was untrusted: %v", err)
	}
}

func TestReadPackageLimits(t *testing.T) {
	mb := []byte(`{}`)
	big := make([]byte, 2000)
	pkg, _ := BuildPackage(mb, big, make([]byte, 64))
	if _, err := ReadPackage(pkg, 1000); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized module: %v", err)
	}
	if _, err := ReadPackage([]byte("not a zip"), 0); !errors.Is(err, ErrInvalidPackage) {
		t.Fatalf("garbage: %v", err)
	}
	pkg, _ = BuildPackage(mb, nil, nil)
	if _, err := ReadPackage(pkg, 0); !errors.Is(err, ErrInvalidPackage) {
		t.Fatalf("no wasm: %v", err)
	}
}

func TestParseManifest(t *testing.T) {
	good := `{"id":"echo","version":"1.0.0","abi":1,"entry_points":["on_message"],"capabilities":["messages.read"],"limits":{},"publisher_key_id":"0123456789abcdef"}`
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	bad := map[string]string{
		"unknown field":       strings.Replace(good, `"abi":1`, `"abi":1,"extra":true`, 1),
		"unknown limit":       strings.Replace(good, `"limits":{}`, `"limits":{"fuel":1}`, 1),
		"trailing data":       good + `{}`,
		"abi 2":               strings.Replace(good, `"abi":1`, `"abi":2`, 1),
		"bad id":              strings.Replace(good, `"echo"`, `"../x"`, 1),
		"bad version":         strings.Replace(good, `"1.0.0"`, `"1.0"`, 1),
		"leading zero":        strings.Replace(good, `"1.0.0"`, `"01.0.0"`, 1),
		"unknown capability":  strings.Replace(good, `["messages.read"]`, `["messages.read","fs"]`, 1),
		"repeated capability": strings.Replace(good, `["messages.read"]`, `["messages.read","messages.read"]`, 1),
		"entry needs cap":     strings.Replace(good, `["messages.read"]`, `["log"]`, 1),
		"unknown entry":       strings.Replace(good, `["on_message"]`, `["main"]`, 1),
		"page without prefix": strings.Replace(strings.Replace(good, `["on_message"]`, `["serve_page"]`, 1), `["messages.read"]`, `["pages.serve"]`, 1),
		"bad key id":          strings.Replace(good, `0123456789abcdef`, `XYZ`, 1),
		"too big":             strings.Replace(good, `"echo"`, `"echo","description":"`+strings.Repeat("a", MaxManifestBytes)+`"`, 1),
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseManifest([]byte(in)); !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0}, {"1.0.10", "1.0.9", 1}, {"1.0.0-rc1", "1.0.0", -1}, {"2.0.0", "10.0.0", -1},
		{"1.0.0-b", "1.0.0-a", 1},
	} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"id":"echo","version":"1.0.0","abi":1,"entry_points":["on_message"],"capabilities":["messages.read"],"limits":{},"publisher_key_id":"0123456789abcdef"}`))
	f.Add([]byte(`{"id":"p","version":"1.0.0-rc.1","abi":1,"entry_points":["serve_page"],"capabilities":["pages.serve"],"page_prefix":"/page/p","limits":{"memory_pages":10},"publisher_key_id":"0123456789abcdef"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
		if CompareVersions(m.Version, m.Version) != 0 {
			t.Fatal("version not equal to itself")
		}
	})
}

func FuzzReadPackage(f *testing.F) {
	mb := []byte(`{"id":"echo","version":"1.0.0","abi":1,"entry_points":["on_message"],"capabilities":["messages.read"],"limits":{},"publisher_key_id":"0123456789abcdef"}`)
	pkg, _ := BuildPackage(mb, okModule, make([]byte, 64))
	f.Add(pkg)
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPackage(b, 1<<16)
		if err != nil {
			return
		}
		if len(p.Wasm) > 1<<16 || len(p.Signature) > ed25519.SignatureSize {
			t.Fatal("caps not enforced")
		}
		if _, err := p.Verify(nil); err == nil {
			t.Fatal("verified against no keys")
		}
	})
}

// TestCosignSignedPackages: a package signed with a cosign key (a Sigstore bundle over the same bytes)
// installs once the owner trusts the cosign public key; a tampered module, a bundle by another cosign
// key, an ed25519 signature where the manifest names a cosign key, a bundle that is not a bundle, both
// signatures at once, and a key that is not P-256 are refused, and nothing refused is stored.
func TestCosignSignedPackages(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	newKey := func() (*ecdsa.PrivateKey, []byte, string) {
		t.Helper()
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pemPub, err := integrity.MarshalPublicKeyPEM(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := CosignKeyID(pemPub)
		if err != nil {
			t.Fatal(err)
		}
		return priv, pemPub, id
	}
	priv, pemPub, id := newKey()
	other, _, _ := newKey()
	k, err := f.mg.TrustKey(ctx, "cosign publisher", pemPub)
	if err != nil || k.ID != id || k.Kind() != KeyCosign {
		t.Fatalf("trust cosign key: %+v, %v", k, err)
	}
	m := f.manifest("cosigned", "1.0.0", CapMessagesRead)
	m.PublisherKeyID = id
	mb := manifestJSON(t, m)
	bundle := func(key *ecdsa.PrivateKey, wasm []byte) []byte {
		t.Helper()
		b, err := integrity.SignBundle(ctx, SignedBytes(mb, wasm), key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tampered := append([]byte(nil), okModule...)
	tampered[len(tampered)-2] ^= 0x01
	both, err := BuildBundlePackage(mb, okModule, bundle(priv, okModule))
	if err != nil {
		t.Fatal(err)
	}
	both = addZipEntry(t, both, SignatureFile, Sign(f.priv, mb, okModule))
	for _, c := range []struct {
		name string
		pkg  func() ([]byte, error)
		want error
	}{
		{"tampered module", func() ([]byte, error) { return BuildBundlePackage(mb, tampered, bundle(priv, okModule)) }, ErrBadSignature},
		{"another cosign key", func() ([]byte, error) { return BuildBundlePackage(mb, okModule, bundle(other, okModule)) }, ErrBadSignature},
		{"ed25519 signature for a cosign key", func() ([]byte, error) { return BuildPackage(mb, okModule, Sign(f.priv, mb, okModule)) }, ErrBadSignature},
		{"not a bundle", func() ([]byte, error) { return BuildBundlePackage(mb, okModule, []byte(`{"mediaType":"nope"}`)) }, ErrBadSignature},
		{"two signatures", func() ([]byte, error) { return both, nil }, ErrInvalidPackage},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkg, err := c.pkg()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.mg.Install(ctx, pkg); !errors.Is(err, c.want) {
				t.Fatalf("install: %v, want %v", err, c.want)
			}
			if _, err := f.mg.Get(ctx, "cosigned"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused package was stored: %v", err)
			}
		})
	}
	pkg, err := BuildBundlePackage(mb, okModule, bundle(priv, okModule))
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.mg.Install(ctx, pkg)
	if err != nil || info.PublisherKeyID != id || info.PublisherName != "cosign publisher" {
		t.Fatalf("install cosign-signed: %+v, %v", info, err)
	}
	// Enabling re-verifies the stored package against the trusted key.
	if _, err := f.mg.SetGrants(ctx, info.ID, []Capability{CapMessagesRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.SetEnabled(ctx, info.ID, true); err != nil {
		t.Fatalf("enable: %v", err)
	}

	rsa := []byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n")
	if _, err := f.mg.TrustKey(ctx, "broken", rsa); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("a broken PEM key trusted: %v", err)
	}
	if _, err := f.mg.TrustKey(ctx, "garbage", []byte("not a key at all")); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("garbage trusted: %v", err)
	}
}

// addZipEntry appends one more entry to a zip.
func addZipEntry(t *testing.T, zipped []byte, name string, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
