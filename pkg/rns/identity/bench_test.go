package identity

import (
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// BenchmarkValidateAnnounce decodes and validates a reference announce per
// iteration, the work Identity.validate_announce does for each announce.
func BenchmarkValidateAnnounce(b *testing.B) {
	raw := unhex(b, loadVectors(b).Announces[1].Packet)
	b.ReportAllocs()
	for b.Loop() {
		p, err := wire.Unmarshal(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ValidateAnnounce(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewAnnounce(b *testing.B) {
	id, _ := Generate()
	nh, _ := NameHash("lxmf", "delivery")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.NewAnnounce(AnnounceOptions{NameHash: nh, AppData: []byte("bench")}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	id, _ := Generate()
	msg := make([]byte, 256)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Encrypt(msg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	id, _ := Generate()
	msg := make([]byte, 256)
	tok, _ := id.Encrypt(msg, nil)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Decrypt(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	id, _ := Generate()
	msg := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := id.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	id, _ := Generate()
	msg := make([]byte, 32)
	sig, _ := id.Sign(msg)
	b.ReportAllocs()
	for b.Loop() {
		if !id.Verify(sig, msg) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkIFAC(b *testing.B) {
	c, _ := NewIFAC("bench", "passphrase", 16)
	raw := append([]byte{0x00, 0x00}, make([]byte, 480)...)
	masked, _ := c.Apply(raw)
	b.Run("apply", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := c.Apply(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remove", func(b *testing.B) {
		b.SetBytes(int64(len(masked)))
		for b.Loop() {
			if _, err := c.Remove(masked); err != nil {
				b.Fatal(err)
			}
		}
	})
}
