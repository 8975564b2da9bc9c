package iface

import (
	"fmt"
	"testing"
)

// hdlcBenchSizes are payload sizes seen on the wire: the Reticulum MTU, the
// 16 KiB link MTU of the reference's TCP servers and the TCP hardware MTU.
var hdlcBenchSizes = []int{500, 16384, TCPHardwareMTU}

// benchPayload returns n pseudo-random bytes (about 1 in 128 needs escaping)
// or, with dense set, a payload where every fourth byte needs escaping.
func benchPayload(n int, dense bool) []byte {
	p := randomBytes(newTestRand(1, 2), n)
	if dense {
		for i := 0; i < n; i += 4 {
			p[i] = HDLCFlag
		}
	}
	return p
}

func hdlcBenchCases(fn func(b *testing.B, data []byte)) func(b *testing.B) {
	return func(b *testing.B) {
		for _, dense := range []bool{false, true} {
			for _, n := range hdlcBenchSizes {
				name := fmt.Sprintf("random_%d", n)
				if dense {
					name = fmt.Sprintf("escapes_%d", n)
				}
				data := benchPayload(n, dense)
				b.Run(name, func(b *testing.B) { fn(b, data) })
			}
		}
	}
}

// BenchmarkAppendFrame measures framing into a reused buffer, as the TCP
// write loop does, and into a nil buffer.
func BenchmarkAppendFrame(b *testing.B) {
	b.Run("reuse", hdlcBenchCases(func(b *testing.B, data []byte) {
		var out []byte
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			out = AppendFrame(out[:0], data)
		}
	}))
	b.Run("nil", hdlcBenchCases(func(b *testing.B, data []byte) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_ = AppendFrame(nil, data)
		}
	}))
}

// BenchmarkDeframe measures deframing a stream of back-to-back frames fed
// in 4096-byte writes, as the TCP read loop does.
func BenchmarkDeframe(b *testing.B) {
	b.Run("chunk4096", hdlcBenchCases(func(b *testing.B, data []byte) {
		var stream []byte
		for range 4 {
			stream = AppendFrame(stream, data)
		}
		frames := 0
		d := NewDeframer(TCPHardwareMTU, MinFrameSize, func([]byte) { frames++ })
		b.SetBytes(int64(4 * len(data)))
		for b.Loop() {
			for i := 0; i < len(stream); i += 4096 {
				_, _ = d.Write(stream[i:min(i+4096, len(stream))])
			}
		}
		if frames == 0 || d.Malformed() != 0 {
			b.Fatalf("frames %d, malformed %d", frames, d.Malformed())
		}
	}))
}
