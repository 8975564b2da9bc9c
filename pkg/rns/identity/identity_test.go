package identity

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestIdentityVectors(t *testing.T) {
	for _, file := range []string{"1.5.7", "1.4.2"} {
		var ivs []identityVector
		if file == "1.5.7" {
			ivs = loadVectors(t).Identities
		} else {
			ivs = loadLegacyVectors(t).Identities
		}
		for i, iv := range ivs {
			id, err := FromPrivateKey(unhex(t, iv.PrivateKey))
			if err != nil {
				t.Fatalf("%s identity %d: %v", file, i, err)
			}
			if !bytes.Equal(id.PublicKey(), unhex(t, iv.PublicKey)) {
				t.Errorf("%s identity %d: public key differs", file, i)
			}
			if id.Hash().String() != iv.Hash {
				t.Errorf("%s identity %d: hash %s, want %s", file, i, id.Hash(), iv.Hash)
			}
			prv, err := id.PrivateKey()
			if err != nil || !bytes.Equal(prv, unhex(t, iv.PrivateKey)) {
				t.Errorf("%s identity %d: private key does not round-trip", file, i)
			}
			pub, err := FromPublicKey(unhex(t, iv.PublicKey))
			if err != nil || pub.Hash() != id.Hash() || pub.HasPrivateKey() {
				t.Errorf("%s identity %d: public-only identity wrong (%v)", file, i, err)
			}
		}
	}
}

func TestKeyLengths(t *testing.T) {
	for _, n := range []int{0, 32, 63, 65} {
		if _, err := FromPrivateKey(make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("private key of %d bytes: %v", n, err)
		}
		if _, err := FromPublicKey(make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("public key of %d bytes: %v", n, err)
		}
	}
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := FromPublicKey(id.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Sign([]byte("x")); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("sign without private key: %v", err)
	}
	if _, err := pub.PrivateKey(); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("private key of public identity: %v", err)
	}
	if _, err := pub.Decrypt(make([]byte, 100)); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("decrypt without private key: %v", err)
	}
}

func TestNamesAndDestinations(t *testing.T) {
	v := loadVectors(t)
	ids := vectorIdentities(t, v.Identities)
	for _, d := range v.Destinations {
		name, err := ExpandName(d.App, d.Aspects...)
		if err != nil || name != d.Name {
			t.Errorf("ExpandName %q (%v), want %q", name, err, d.Name)
		}
		nh, err := NameHash(d.App, d.Aspects...)
		if err != nil || nh.String() != d.NameHash {
			t.Errorf("%s: name hash %s (%v), want %s", d.Name, nh, err, d.NameHash)
		}
		var id *Identity
		if d.Identity >= 0 {
			id = ids[d.Identity]
		}
		h, err := DestinationHash(id, d.App, d.Aspects...)
		if err != nil || h.String() != d.Hash {
			t.Errorf("%s identity %d: %s (%v), want %s", d.Name, d.Identity, h, err, d.Hash)
		}
	}
	lv := loadLegacyVectors(t)
	lids := vectorIdentities(t, lv.Identities)
	for _, n := range lv.NameHashes {
		if got := NameHashOf(n.Name).String(); got != n.NameHash {
			t.Errorf("legacy %s: %s, want %s", n.Name, got, n.NameHash)
		}
	}
	for _, d := range lv.DestinationHashes {
		h, err := DestinationHash(lids[d.Identity], d.App, d.Aspects...)
		if err != nil || h.String() != d.Hash {
			t.Errorf("legacy %s %v: %s (%v), want %s", d.App, d.Aspects, h, err, d.Hash)
		}
	}
	for _, d := range lv.PlainDestinationHashes {
		h, err := DestinationHash(nil, d.App, d.Aspects...)
		if err != nil || h.String() != d.Hash {
			t.Errorf("legacy plain %s %v: %s, want %s", d.App, d.Aspects, h, d.Hash)
		}
	}
	if _, err := ExpandName("a.b", "c"); !errors.Is(err, ErrName) {
		t.Errorf("dotted app name: %v", err)
	}
	if _, err := NameHash("a", "b.c"); !errors.Is(err, ErrName) {
		t.Errorf("dotted aspect: %v", err)
	}
	full, err := ExpandNameWithIdentity(ids[0], "lxmf", "delivery")
	if err != nil || full != "lxmf.delivery."+ids[0].Hash().String() {
		t.Errorf("ExpandNameWithIdentity %q (%v)", full, err)
	}
}

func TestSignatureVectors(t *testing.T) {
	lv := loadLegacyVectors(t)
	ids := vectorIdentities(t, lv.Identities)
	for i, s := range lv.Signatures {
		msg, want := unhex(t, s.Message), unhex(t, s.Signature)
		got, err := ids[s.Identity].Sign(msg)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("signature %d differs (%v)", i, err)
		}
		if !ids[s.Identity].Verify(want, msg) {
			t.Errorf("signature %d does not verify", i)
		}
		bad := bytes.Clone(want)
		bad[0] ^= 1
		if ids[s.Identity].Verify(bad, msg) || ids[s.Identity].Verify(want[:63], msg) {
			t.Errorf("signature %d: tampered or short signature verified", i)
		}
	}
	v := loadVectors(t)
	ids = vectorIdentities(t, v.Identities)
	for i, p := range v.Proofs {
		got, err := ids[p.Identity].Sign(unhex(t, p.PacketHash))
		if err != nil || !bytes.Equal(got, unhex(t, p.Signature)) {
			t.Errorf("proof %d differs (%v)", i, err)
		}
	}
}

func TestZeroIdentity(t *testing.T) {
	var id Identity
	if id.Verify(make([]byte, 64), []byte("x")) {
		t.Error("zero identity verified a signature")
	}
	if _, err := id.Encrypt([]byte("x"), nil); err == nil {
		t.Error("zero identity encrypted")
	}
	if _, err := id.Sign([]byte("x")); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("zero identity sign: %v", err)
	}
	if _, err := id.Decrypt(make([]byte, 100)); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("zero identity decrypt: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity")
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prv, _ := id.PrivateKey()
	if !bytes.Equal(raw, prv) {
		t.Fatal("file is not the raw 64-byte private key the reference writes")
	}
	back, err := Load(path)
	if err != nil || back.Hash() != id.Hash() {
		t.Fatalf("load: %v", err)
	}
	// Overwrite keeps the mode and content.
	if err := back.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %d entries", len(entries))
	}
	if err := os.WriteFile(path, append(raw, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrKeyLength) {
		t.Errorf("65-byte file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	pub, _ := FromPublicKey(id.PublicKey())
	if err := pub.Save(filepath.Join(dir, "pub")); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("save public identity: %v", err)
	}
}

func TestHashHelpers(t *testing.T) {
	if FullHash([]byte("abc")).String() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatal("FullHash is not SHA-256")
	}
	if TruncatedHash([]byte("abc")) != wire.SHA256([]byte("abc")).Truncated() {
		t.Fatal("TruncatedHash wrong")
	}
}
