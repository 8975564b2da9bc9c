package msgpack

import (
	"bytes"
	"testing"
)

// FuzzDecodeValue: decoding never panics, and whatever decodes re-encodes
// canonically: encode(decode(x)) decodes to an equal value and is a fixed
// point of decode+encode. Seeds: umsgpack's boundary encodings, its re-pack
// cases, and packed LXMF messages and propagation node app data.
func FuzzDecodeValue(f *testing.F) {
	cv := loadVectors(f)
	for _, b := range cv.LXMFSeeds {
		f.Add([]byte(b))
	}
	for _, b := range cv.Msgpack {
		if len(b) < 4096 {
			f.Add([]byte(b))
		}
	}
	for _, r := range cv.Repack {
		f.Add([]byte(r.In))
	}
	lim := Limits{MaxSize: 1 << 20, MaxItems: 4096, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		val, n, err := DecodeValuePrefix(b, lim)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		enc := val.Encode()
		back, err := DecodeValue(enc, lim)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v\n%x", err, enc)
		}
		if !back.Equal(val) {
			t.Fatalf("round trip differs\n in %x\nout %x", b[:n], enc)
		}
		if again := back.Encode(); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not a fixed point\n%x\n%x", enc, again)
		}
	})
}
