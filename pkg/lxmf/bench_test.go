package lxmf

import (
	"context"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

func benchMessage(b *testing.B) (*Message, []byte) {
	src, dst := genIdentity(b), genIdentity(b)
	m := newTestMessage(dst, "a small direct message of about a hundred bytes, as chat messages usually are....")
	if err := m.Pack(src); err != nil {
		b.Fatal(err)
	}
	return m, m.Packed
}

func BenchmarkPackSign(b *testing.B) {
	src, dst := genIdentity(b), genIdentity(b)
	m := newTestMessage(dst, "a small direct message of about a hundred bytes, as chat messages usually are....")
	b.ReportAllocs()
	for b.Loop() {
		m.Source = [16]byte{}
		if err := m.Pack(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpackVerify(b *testing.B) {
	src, dst := genIdentity(b), genIdentity(b)
	m := newTestMessage(dst, "a small direct message of about a hundred bytes, as chat messages usually are....")
	if err := m.Pack(src); err != nil {
		b.Fatal(err)
	}
	pub := publicOnly(b, src)
	b.SetBytes(int64(len(m.Packed)))
	b.ReportAllocs()
	for b.Loop() {
		u, err := Unpack(m.Packed, msgpack.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := u.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStampValidate is the full check an inbound stamped message costs:
// the 3000-round workblock of its id plus one hash over it.
func BenchmarkStampValidate(b *testing.B) {
	m, _ := benchMessage(b)
	if _, err := m.GenerateStamp(context.Background(), 8, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.ValidateStamp(8, nil); !ok {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkStampCheck is the check alone, given the workblock.
func BenchmarkStampCheck(b *testing.B) {
	wb, err := StampWorkblock(make([]byte, 32), WorkblockRounds)
	if err != nil {
		b.Fatal(err)
	}
	stamp := make([]byte, StampSize)
	b.SetBytes(int64(len(wb)))
	for b.Loop() {
		StampValid(stamp, 8, wb)
	}
}

// BenchmarkGenerateStamp16 finds a cost-16 stamp (about 65536 attempts) on
// one goroutine.
func BenchmarkGenerateStamp16(b *testing.B) {
	wb, err := StampWorkblock(make([]byte, 32), WorkblockRounds)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := GenerateStamp(context.Background(), wb, 16, nil); err != nil {
			b.Fatal(err)
		}
	}
}
