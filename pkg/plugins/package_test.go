package plugins

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
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
