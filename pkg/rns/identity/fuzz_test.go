package identity

import (
	"bytes"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// FuzzValidateAnnounce feeds raw frames through the packet decoder and the
// announce validator. Whatever validates must re-encode to the same payload
// and hash to its destination.
func FuzzValidateAnnounce(f *testing.F) {
	v := loadVectors(f)
	for _, a := range v.Announces {
		f.Add(unhex(f, a.Packet))
	}
	for _, a := range v.InvalidAnnounces {
		f.Add(unhex(f, a.Packet))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := wire.Unmarshal(raw)
		if err != nil {
			return
		}
		a, err := ValidateAnnounce(p)
		if err != nil {
			return
		}
		h := a.Identity.Hash()
		if wire.DestinationHash(a.NameHash, &h) != p.DestinationHash {
			t.Fatal("validated announce with wrong destination")
		}
		d := wire.AnnounceData{PublicKey: a.Identity.PublicKeyArray(), NameHash: a.NameHash, RandomHash: a.RandomHash,
			Ratchet: a.Ratchet, Signature: a.Signature, AppData: a.AppData}
		out, err := d.Marshal()
		if err != nil || !bytes.Equal(out, p.Data) {
			t.Fatalf("validated announce does not re-encode (%v)", err)
		}
	})
}

// FuzzDecrypt feeds arbitrary tokens to identity decryption with and
// without ratchets; nothing may panic and vector tokens must still decrypt.
func FuzzDecrypt(f *testing.F) {
	v := loadVectors(f)
	ids := vectorIdentities(f, v.Identities)
	for _, tv := range v.Tokens.Identity {
		f.Add(unhex(f, tv.Token), uint8(tv.Identity&0xff))
	}
	for _, tv := range v.Tokens.Ratchet {
		f.Add(unhex(f, tv.Token), uint8(tv.Identity&0xff))
	}
	var ratchets []*Ratchet
	for _, tv := range v.Tokens.Ratchet {
		r, err := RatchetFromBytes(unhex(f, tv.RatchetPrivate))
		if err != nil {
			f.Fatal(err)
		}
		ratchets = append(ratchets, r)
	}
	f.Fuzz(func(t *testing.T, token []byte, who uint8) {
		id := ids[int(who)%len(ids)]
		pt, idx, err := id.DecryptRatchets(token, ratchets, false)
		if err != nil {
			return
		}
		if idx < -1 || idx >= len(ratchets) {
			t.Fatalf("ratchet index %d", idx)
		}
		if body := len(token) - wire.HalfKeyLen - wire.TokenOverhead; len(pt) > body || len(pt) < body-16 {
			t.Fatalf("token of %d bytes gave %d bytes of plaintext", len(token), len(pt))
		}
	})
}

// FuzzTokenDecrypt feeds arbitrary tokens to a group Token.
func FuzzTokenDecrypt(f *testing.F) {
	v := loadVectors(f)
	for _, tv := range v.Tokens.Group {
		f.Add(unhex(f, tv.Key), unhex(f, tv.Token))
	}
	f.Fuzz(func(t *testing.T, key, token []byte) {
		tok, err := NewToken(key)
		if err != nil {
			return
		}
		pt, err := tok.Decrypt(token)
		if err != nil {
			return
		}
		if body := len(token) - wire.TokenOverhead; len(pt) > body || len(pt) < body-16 {
			t.Fatalf("token of %d bytes gave %d bytes", len(token), len(pt))
		}
	})
}

// FuzzIFACRemove checks that any frame IFAC accepts is exactly what Apply
// produces for the unmasked packet (the transform is deterministic).
func FuzzIFACRemove(f *testing.F) {
	v := loadVectors(f)
	for _, iv := range v.IFAC {
		if iv.Netname == "reticle-test" && iv.Size == 16 {
			f.Add(unhex(f, iv.Masked))
		}
	}
	f.Add([]byte{0x80, 0x00})
	c, err := NewIFAC("reticle-test", "secret passphrase", 16)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		raw, err := c.Remove(frame)
		if err != nil {
			return
		}
		again, err := c.Apply(raw)
		if err != nil || !bytes.Equal(again, frame) {
			t.Fatalf("accepted frame is not what Apply makes (%v)", err)
		}
	})
}
