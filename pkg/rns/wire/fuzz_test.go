package wire

import (
	"bytes"
	"testing"
)

func seedPackets(f *testing.F) {
	v := loadVectors(f)
	for _, p := range v.Packets {
		f.Add(unhex(f, p.Raw))
	}
	for _, p := range v.InvalidPackets {
		f.Add(unhex(f, p.Raw))
	}
	for _, a := range v.Announces {
		f.Add(unhex(f, a.Packet))
	}
}

// FuzzUnmarshal checks that whatever decodes re-encodes to the same bytes,
// keeps its hash, and that nothing panics.
func FuzzUnmarshal(f *testing.F) {
	seedPackets(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Unmarshal(raw)
		if err != nil {
			if _, herr := HashRaw(raw); herr != nil && len(raw) >= HeaderMaxSize {
				t.Fatalf("HashRaw failed on a full-length frame: %v", herr)
			}
			return
		}
		out, err := p.MarshalMTU(len(raw))
		if err != nil {
			t.Fatalf("decoded packet does not re-encode: %v", err)
		}
		if !bytes.Equal(out, raw) {
			t.Fatalf("round trip differs:\n%x\n%x", raw, out)
		}
		h, err := HashRaw(raw)
		if err != nil || h != p.Hash() {
			t.Fatalf("HashRaw %v (%v) != Hash %v", h, err, p.Hash())
		}
	})
}

// FuzzParseAnnounce checks that announce payloads that parse re-encode to
// the same bytes.
func FuzzParseAnnounce(f *testing.F) {
	v := loadVectors(f)
	for _, a := range v.Announces {
		p, err := Unmarshal(unhex(f, a.Packet))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Data, p.ContextFlag)
	}
	f.Fuzz(func(t *testing.T, data []byte, ratchet bool) {
		a, err := ParseAnnounce(data, ratchet)
		if err != nil {
			return
		}
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("parsed announce does not re-encode: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatal("announce round trip differs")
		}
		if _, err := a.SignedData(Hash{}); err != nil {
			t.Fatal(err)
		}
	})
}
