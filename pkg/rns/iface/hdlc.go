package iface

import "bytes"

// HDLC framing constants, as in the reference's RNS/Interfaces/TCPInterface.py
// (class HDLC).
const (
	HDLCFlag    = 0x7E
	HDLCEsc     = 0x7D
	HDLCEscMask = 0x20
)

// TCPHardwareMTU is the largest frame the reference TCP interfaces accept
// (TCPInterface.HW_MTU).
const TCPHardwareMTU = 262144

// MinFrameSize is the reference's HEADER_MINSIZE (2 + 1 + 16): TCP frames of
// this length or shorter are dropped as invalid (TCPClientInterface.check_frame_len).
const MinFrameSize = 19

// denseEscapes is the average run length between escaped bytes below which
// framing and deframing switch from bulk copies to a byte loop.
const denseEscapes = 16

// deframerKeep is the largest buffer a Deframer keeps between frames, enough
// for the 16 KiB link MTU; a larger one, grown for a larger frame, is released
// when that frame ends.
const deframerKeep = 64 << 10

// AppendFrame appends the HDLC frame of data (flag, escaped data, flag) to dst,
// escaping as the reference's HDLC.escape does. It counts the bytes to escape
// first, so dst is reallocated at most once, and not at all when it already
// has room for the frame.
func AppendFrame(dst, data []byte) []byte {
	escapes := bytes.Count(data, []byte{HDLCFlag}) + bytes.Count(data, []byte{HDLCEsc})
	n, size := len(dst), len(data)+escapes+2
	if size > cap(dst)-n {
		// One allocation, at least doubling, so that appending many frames
		// to one buffer stays linear.
		grown := make([]byte, n, max(n+size, 2*cap(dst)))
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:n+size]
	out := dst[n:]
	out[0] = HDLCFlag
	w := 1
	switch {
	case escapes == 0:
		w += copy(out[w:], data)
	case escapes*denseEscapes > len(data):
		// Short runs between escapes: a byte loop beats a call per run.
		for _, b := range data {
			if b == HDLCFlag || b == HDLCEsc {
				out[w], out[w+1] = HDLCEsc, b^HDLCEscMask
				w += 2
				continue
			}
			out[w] = b
			w++
		}
	default:
		// Two cursors, the next flag and the next escape byte, so that each
		// input byte is scanned once per kind and runs are copied in bulk.
		pos := 0
		nextFlag := indexFrom(data, 0, HDLCFlag)
		nextEsc := indexFrom(data, 0, HDLCEsc)
		for nextFlag >= 0 || nextEsc >= 0 {
			i := nextFlag
			if i < 0 || (nextEsc >= 0 && nextEsc < i) {
				i = nextEsc
			}
			w += copy(out[w:], data[pos:i])
			out[w], out[w+1] = HDLCEsc, data[i]^HDLCEscMask
			w += 2
			pos = i + 1
			if i == nextFlag {
				nextFlag = indexFrom(data, pos, HDLCFlag)
			} else {
				nextEsc = indexFrom(data, pos, HDLCEsc)
			}
		}
		w += copy(out[w:], data[pos:])
	}
	out[w] = HDLCFlag
	return dst
}

// indexFrom returns the index of the first c in b at or after from, or -1.
func indexFrom(b []byte, from int, c byte) int {
	i := bytes.IndexByte(b[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// Deframer turns an HDLC byte stream into frames. It never buffers more than
// its maximum frame size: longer frames, frames shorter than the minimum and
// frames with invalid escapes are dropped and counted. Bytes before the first
// flag are ignored. A flag both ends one frame and starts the next, as in the
// reference. The zero value is not usable; use NewDeframer. Not safe for
// concurrent use.
type Deframer struct {
	max, min  int
	emit      func(frame []byte)
	buf       []byte
	inFrame   bool
	escape    bool
	bad       bool
	malformed uint64
}

// NewDeframer returns a deframer that calls emit with each complete frame of
// length in (min, max]. emit receives a fresh slice it may keep.
func NewDeframer(maxFrame, minFrame int, emit func(frame []byte)) *Deframer {
	if maxFrame <= 0 {
		maxFrame = TCPHardwareMTU
	}
	if minFrame < 0 {
		minFrame = 0
	}
	return &Deframer{max: maxFrame, min: minFrame, emit: emit}
}

// Malformed returns how many frames were dropped so far.
func (d *Deframer) Malformed() uint64 { return d.malformed }

// Write feeds stream bytes; it always consumes all of p and never fails.
func (d *Deframer) Write(p []byte) (int, error) {
	n := len(p)
	for {
		end := bytes.IndexByte(p, HDLCFlag)
		body := p
		if end >= 0 {
			body = p[:end]
		}
		if d.inFrame && !d.bad {
			d.unescape(body)
		}
		if end < 0 {
			return n, nil
		}
		d.finish()
		d.inFrame = true
		p = p[end+1:]
	}
}

// unescape adds body, a run of stream bytes without flags inside the current
// frame, to the frame; an escape byte at its end stays pending for the next.
func (d *Deframer) unescape(body []byte) {
	if len(body) == 0 {
		return
	}
	// Unescaping never lengthens: reserve once, up to the maximum frame size.
	d.reserve(len(body))
	buf := d.buf
	if bytes.Count(body, []byte{HDLCEsc})*denseEscapes > len(body) {
		// Short runs between escapes: a byte loop beats a call per run.
		for _, b := range body {
			if d.escape {
				d.escape = false
				if b != HDLCFlag^HDLCEscMask && b != HDLCEsc^HDLCEscMask {
					d.bad = true
					break
				}
				b ^= HDLCEscMask
			} else if b == HDLCEsc {
				d.escape = true
				continue
			}
			if len(buf) >= d.max {
				d.bad = true
				break
			}
			buf = append(buf, b)
		}
		d.buf = buf
		return
	}
	for len(body) > 0 {
		if d.escape {
			d.escape = false
			b := body[0]
			body = body[1:]
			if (b != HDLCFlag^HDLCEscMask && b != HDLCEsc^HDLCEscMask) || len(buf) >= d.max {
				d.bad = true
				break
			}
			buf = append(buf, b^HDLCEscMask)
			continue
		}
		run := body
		if i := bytes.IndexByte(body, HDLCEsc); i >= 0 {
			run, body, d.escape = body[:i], body[i+1:], true
		} else {
			body = nil
		}
		if len(buf)+len(run) > d.max {
			d.bad = true
			break
		}
		buf = append(buf, run...)
	}
	d.buf = buf
}

// reserve makes room for n more bytes in the frame buffer, without growing it
// past the maximum frame size.
func (d *Deframer) reserve(n int) {
	need := min(len(d.buf)+n, d.max)
	if need <= cap(d.buf) {
		return
	}
	grown := make([]byte, len(d.buf), min(max(need, 2*cap(d.buf), 512), d.max))
	copy(grown, d.buf)
	d.buf = grown
}

// finish closes the current frame at a flag.
func (d *Deframer) finish() {
	if d.inFrame {
		switch {
		case d.bad || d.escape:
			d.malformed++
		case len(d.buf) == 0:
			// Back-to-back flags: idle fill, not an error.
		case len(d.buf) <= d.min:
			d.malformed++
		case cap(d.buf) > deframerKeep && len(d.buf) >= cap(d.buf)-cap(d.buf)/8:
			// A large buffer is released at the end of its frame anyway:
			// when the frame nearly fills it, hand it over instead of copying.
			d.emit(d.buf[:len(d.buf):len(d.buf)])
		default:
			d.emit(bytes.Clone(d.buf))
		}
	}
	d.buf = d.buf[:0]
	if cap(d.buf) > deframerKeep {
		d.buf = nil
	}
	d.escape, d.bad = false, false
}
