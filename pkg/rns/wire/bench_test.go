package wire

import "testing"

func benchPacket(b *testing.B) []byte {
	b.Helper()
	v := loadVectors(b)
	for _, p := range v.Packets {
		if p.Name == "h1-data-plain-mtu" {
			return unhex(b, p.Raw)
		}
	}
	b.Fatal("mtu packet vector missing")
	return nil
}

func BenchmarkUnmarshal(b *testing.B) {
	raw := benchPacket(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	p, err := Unmarshal(benchPacket(b))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, MTU)
	b.SetBytes(int64(p.Size()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.AppendMarshal(buf[:0], MTU); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPacketHash(b *testing.B) {
	p, err := Unmarshal(benchPacket(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(p.Size()))
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Hash()
	}
}
