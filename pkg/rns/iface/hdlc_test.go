package iface

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type hdlcVector struct {
	Data  string `json:"data"`
	Frame string `json:"frame"`
}

func loadHDLCVectors(t testing.TB) []hdlcVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/hdlc-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		HDLC []hdlcVector `json:"hdlc"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.HDLC) == 0 {
		t.Fatal("no hdlc vectors")
	}
	return v.HDLC
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendFrameMatchesReference(t *testing.T) {
	for i, v := range loadHDLCVectors(t) {
		data, want := mustHex(t, v.Data), mustHex(t, v.Frame)
		if got := AppendFrame(nil, data); !bytes.Equal(got, want) {
			t.Errorf("vector %d: frame %x, want %x", i, got, want)
		}
		var got [][]byte
		d := NewDeframer(0, 0, func(f []byte) { got = append(got, f) })
		_, _ = d.Write(want)
		if len(data) == 0 {
			if len(got) != 0 {
				t.Errorf("vector %d: empty frame emitted %d frames", i, len(got))
			}
			continue
		}
		if len(got) != 1 || !bytes.Equal(got[0], data) {
			t.Errorf("vector %d: deframed %x, want %x", i, got, data)
		}
	}
}

func TestDeframer(t *testing.T) {
	long := bytes.Repeat([]byte{0x41}, 40)
	tests := []struct {
		name      string
		stream    []byte
		max, min  int
		want      [][]byte
		malformed uint64
	}{
		{"two frames sharing a flag", []byte{0x7e, 1, 2, 0x7e, 3, 0x7e}, 100, 0, [][]byte{{1, 2}, {3}}, 0},
		{"garbage before first flag ignored", []byte{9, 9, 0x7e, 1, 0x7e}, 100, 0, [][]byte{{1}}, 0},
		{"escapes", []byte{0x7e, 0x7d, 0x5e, 0x7d, 0x5d, 0x7e}, 100, 0, [][]byte{{0x7e, 0x7d}}, 0},
		{"invalid escape dropped", []byte{0x7e, 1, 0x7d, 0x11, 2, 0x7e, 5, 0x7e}, 100, 0, [][]byte{{5}}, 1},
		{"escape at end of frame dropped", []byte{0x7e, 1, 0x7d, 0x7e, 6, 0x7e}, 100, 0, [][]byte{{6}}, 1},
		{"oversize dropped then recovers", append(append([]byte{0x7e}, long...), 0x7e, 7, 0x7e), 10, 0, [][]byte{{7}}, 1},
		{"exactly max accepted", append(append([]byte{0x7e}, long[:10]...), 0x7e), 10, 0, [][]byte{long[:10]}, 0},
		{"short frame dropped", []byte{0x7e, 1, 2, 0x7e, 1, 2, 3, 0x7e}, 100, 2, [][]byte{{1, 2, 3}}, 1},
		{"unterminated frame not emitted", []byte{0x7e, 1, 2, 3}, 100, 0, nil, 0},
		{"idle flags", []byte{0x7e, 0x7e, 0x7e}, 100, 0, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Feed byte by byte and in one write; results must agree.
			for _, chunk := range []int{1, len(tc.stream)} {
				var got [][]byte
				d := NewDeframer(tc.max, tc.min, func(f []byte) { got = append(got, f) })
				for i := 0; i < len(tc.stream); i += chunk {
					_, _ = d.Write(tc.stream[i:min(i+chunk, len(tc.stream))])
				}
				if len(got) != len(tc.want) {
					t.Fatalf("chunk %d: got %x, want %x", chunk, got, tc.want)
				}
				for i := range got {
					if !bytes.Equal(got[i], tc.want[i]) {
						t.Fatalf("chunk %d: frame %d = %x, want %x", chunk, i, got[i], tc.want[i])
					}
				}
				if d.Malformed() != tc.malformed {
					t.Fatalf("chunk %d: malformed %d, want %d", chunk, d.Malformed(), tc.malformed)
				}
			}
		})
	}
}

func FuzzDeframer(f *testing.F) {
	for _, v := range loadHDLCVectors(f) {
		f.Add(mustHex(f, v.Frame))
	}
	f.Add([]byte{0x7e, 0x7d, 0x7e, 0x7d})
	f.Add(bytes.Repeat([]byte{0x7d}, 300))
	f.Fuzz(func(t *testing.T, stream []byte) {
		const maxFrame = 64
		var frames [][]byte
		d := NewDeframer(maxFrame, 0, func(fr []byte) {
			if len(fr) == 0 || len(fr) > maxFrame {
				t.Fatalf("emitted frame of %d bytes", len(fr))
			}
			frames = append(frames, fr)
		})
		_, _ = d.Write(stream)
		if cap(d.buf) > 4096 {
			t.Fatalf("buffer grew to %d", cap(d.buf))
		}
		// Every emitted frame must survive a round trip through AppendFrame.
		for _, fr := range frames {
			var back [][]byte
			d2 := NewDeframer(maxFrame, 0, func(b []byte) { back = append(back, b) })
			_, _ = d2.Write(AppendFrame(nil, fr))
			if len(back) != 1 || !bytes.Equal(back[0], fr) {
				t.Fatalf("round trip of %x gave %x", fr, back)
			}
		}
	})
}
