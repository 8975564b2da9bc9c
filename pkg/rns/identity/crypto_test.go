package identity

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestIdentityTokenVectors(t *testing.T) {
	v := loadVectors(t)
	ids := vectorIdentities(t, v.Identities)
	for i, tv := range v.Tokens.Identity {
		pt, err := ids[tv.Identity].Decrypt(unhex(t, tv.Token))
		if err != nil || !bytes.Equal(pt, unhex(t, tv.Plaintext)) {
			t.Errorf("token %d: %x (%v), want %s", i, pt, err, tv.Plaintext)
		}
		other := ids[(tv.Identity+1)%len(ids)]
		if _, err := other.Decrypt(unhex(t, tv.Token)); !errors.Is(err, ErrTokenMAC) {
			t.Errorf("token %d decrypted by the wrong identity: %v", i, err)
		}
	}
	lv := loadLegacyVectors(t)
	lids := vectorIdentities(t, lv.Identities)
	for i, tv := range lv.IdentityEncrypt {
		pt, err := lids[tv.Identity].Decrypt(unhex(t, tv.Token))
		if err != nil || !bytes.Equal(pt, unhex(t, tv.Plaintext)) {
			t.Errorf("legacy token %d: %v", i, err)
		}
	}
}

func TestRatchetTokenVectors(t *testing.T) {
	v := loadVectors(t)
	ids := vectorIdentities(t, v.Identities)
	for i, tv := range v.Tokens.Ratchet {
		r, err := RatchetFromBytes(unhex(t, tv.RatchetPrivate))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.PublicKey(), unhex(t, tv.RatchetPublic)) {
			t.Errorf("ratchet %d: public key differs", i)
		}
		rid := r.ID()
		if !bytes.Equal(rid[:], unhex(t, tv.RatchetID)) {
			t.Errorf("ratchet %d: id %x, want %s", i, rid, tv.RatchetID)
		}
		wrong, err := GenerateRatchet()
		if err != nil {
			t.Fatal(err)
		}
		id, token, want := ids[tv.Identity], unhex(t, tv.Token), unhex(t, tv.Plaintext)
		pt, idx, err := id.DecryptRatchets(token, []*Ratchet{wrong, nil, r}, true)
		if err != nil || idx != 2 || !bytes.Equal(pt, want) {
			t.Errorf("ratchet %d: idx %d err %v", i, idx, err)
		}
		if _, _, err := id.DecryptRatchets(token, []*Ratchet{wrong}, true); !errors.Is(err, ErrRatchetEnforced) {
			t.Errorf("ratchet %d: enforced without the right ratchet: %v", i, err)
		}
		if _, _, err := id.DecryptRatchets(token, []*Ratchet{wrong}, false); !errors.Is(err, ErrTokenMAC) {
			t.Errorf("ratchet %d: identity key decrypted a ratchet token: %v", i, err)
		}
	}
}

func TestGroupTokenVectors(t *testing.T) {
	v := loadVectors(t)
	for i, tv := range v.Tokens.Group {
		tok, err := NewToken(unhex(t, tv.Key))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := tok.Decrypt(unhex(t, tv.Token))
		if err != nil || !bytes.Equal(pt, unhex(t, tv.Plaintext)) {
			t.Errorf("group token %d: %v", i, err)
		}
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	r, err := GenerateRatchet()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := FromPublicKey(id.PublicKey())
	for _, n := range []int{0, 1, 15, 16, 17, 383} {
		msg := bytes.Repeat([]byte{byte(n & 0xff)}, n)
		tok, err := pub.Encrypt(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 32+TokenSize(n) {
			t.Errorf("token for %d bytes has %d bytes, want %d", n, len(tok), 32+TokenSize(n))
		}
		pt, err := id.Decrypt(tok)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Errorf("%d bytes: %v", n, err)
		}
		tok, err = pub.Encrypt(msg, r.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := id.Decrypt(tok); err == nil {
			t.Errorf("ratchet token decrypted with the identity key")
		}
		pt, idx, err := id.DecryptRatchets(tok, []*Ratchet{r}, false)
		if err != nil || idx != 0 || !bytes.Equal(pt, msg) {
			t.Errorf("ratchet %d bytes: idx %d %v", n, idx, err)
		}
	}
	if _, err := pub.Encrypt([]byte("x"), []byte{1, 2}); err == nil {
		t.Error("short ratchet key accepted")
	}
}

func TestTokenErrors(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 64)
	tok, err := NewToken(key)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := tok.Encrypt([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x80
		if _, err := tok.Decrypt(bad); !errors.Is(err, ErrTokenMAC) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	if _, err := tok.Decrypt(ct[:63]); !errors.Is(err, ErrTokenShort) {
		t.Errorf("short token: %v", err)
	}
	if _, err := NewToken(make([]byte, 48)); !errors.Is(err, ErrKeyLength) {
		t.Errorf("48-byte key: %v", err)
	}
	id, _ := Generate()
	if _, err := id.Decrypt(make([]byte, 32)); !errors.Is(err, ErrTokenShort) {
		t.Errorf("32-byte identity token: %v", err)
	}
	k, err := GenerateGroupKey()
	if err != nil || len(k) != 64 {
		t.Fatalf("group key: %d %v", len(k), err)
	}
}

func TestHKDFVectors(t *testing.T) {
	v := loadVectors(t)
	for i, hv := range v.HKDF {
		got, err := HKDF(hv.Length, unhex(t, hv.IKM), unhex(t, hv.Salt), unhex(t, hv.Info))
		if err != nil || !bytes.Equal(got, unhex(t, hv.OKM)) {
			t.Errorf("hkdf %d (length %d) differs (%v)", i, hv.Length, err)
		}
	}
	// Within RFC 5869's limit the result equals the standard library's HKDF.
	for _, n := range []int{1, 32, 64, 100, 8160} {
		want, err := hkdf.Key(sha256.New, []byte("secret"), []byte("salt"), "info", n)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := HKDF(n, []byte("secret"), []byte("salt"), []byte("info"))
		if !bytes.Equal(got, want) {
			t.Errorf("length %d differs from crypto/hkdf", n)
		}
	}
	if _, err := HKDF(0, []byte("x"), nil, nil); err == nil {
		t.Error("zero length accepted")
	}
}

func TestPKCS7(t *testing.T) {
	for n := range 33 {
		data := bytes.Repeat([]byte{0xAA}, n)
		p := PadPKCS7(data)
		pad := 16 - n%16
		if len(p) != n+pad || p[len(p)-1] != byte(pad) {
			t.Fatalf("pad %d bytes: %x", n, p)
		}
		back, err := UnpadPKCS7(p)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("unpad %d bytes: %v", n, err)
		}
	}
	// The reference's PKCS7.unpad ignores the pad bytes' content and strips
	// nothing for a final 0x00; it only rejects counts above 16.
	lax := append(bytes.Repeat([]byte{0xAA}, 15), 0x05)
	if got, err := UnpadPKCS7(lax); err != nil || !bytes.Equal(got, lax[:11]) {
		t.Errorf("lax content: %x %v", got, err)
	}
	zero := append(bytes.Repeat([]byte{0xAA}, 15), 0x00)
	if got, err := UnpadPKCS7(zero); err != nil || !bytes.Equal(got, zero) {
		t.Errorf("zero pad: %x %v", got, err)
	}
	if _, err := UnpadPKCS7(append(make([]byte, 15), 0x11)); !errors.Is(err, ErrTokenFormat) {
		t.Errorf("pad 17: %v", err)
	}
	if _, err := UnpadPKCS7(nil); !errors.Is(err, ErrTokenFormat) {
		t.Errorf("empty: %v", err)
	}
}

func TestTokenLaxPaddingMatchesReference(t *testing.T) {
	// A key holder can make a token whose plaintext block ends in 0x00; the
	// reference returns the whole block, and so must we.
	key := bytes.Repeat([]byte{3}, 64)
	tok, _ := NewToken(key)
	iv := make([]byte, 16)
	block := append(bytes.Repeat([]byte{'x'}, 15), 0x00)
	ct := make([]byte, 16)
	c, _ := aes.NewCipher(key[32:])
	cipher.NewCBCEncrypter(c, iv).CryptBlocks(ct, block)
	m := hmac.New(sha256.New, key[:32])
	m.Write(iv)
	m.Write(ct)
	token := m.Sum(append(append([]byte{}, iv...), ct...))
	if ok, err := tok.VerifyHMAC(token); !ok || err != nil {
		t.Fatalf("hmac: %v %v", ok, err)
	}
	pt, err := tok.Decrypt(token)
	if err != nil || !bytes.Equal(pt, block) {
		t.Fatalf("decrypt: %x %v", pt, err)
	}
	if _, err := tok.VerifyHMAC(make([]byte, 32)); !errors.Is(err, ErrTokenShort) {
		t.Fatalf("32-byte token: %v", err)
	}
}
