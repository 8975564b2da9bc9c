package iface

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

// AppendFrame appends the HDLC frame of data (flag, escaped data, flag) to dst.
func AppendFrame(dst, data []byte) []byte {
	dst = append(dst, HDLCFlag)
	for _, b := range data {
		if b == HDLCFlag || b == HDLCEsc {
			dst = append(dst, HDLCEsc, b^HDLCEscMask)
			continue
		}
		dst = append(dst, b)
	}
	return append(dst, HDLCFlag)
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
	for _, b := range p {
		if b == HDLCFlag {
			d.finish()
			d.inFrame = true
			continue
		}
		if !d.inFrame || d.bad {
			continue
		}
		if d.escape {
			d.escape = false
			if b != HDLCFlag^HDLCEscMask && b != HDLCEsc^HDLCEscMask {
				d.bad = true
				continue
			}
			b ^= HDLCEscMask
		} else if b == HDLCEsc {
			d.escape = true
			continue
		}
		if len(d.buf) >= d.max {
			d.bad = true
			continue
		}
		d.buf = append(d.buf, b)
	}
	return len(p), nil
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
		default:
			out := make([]byte, len(d.buf))
			copy(out, d.buf)
			d.emit(out)
		}
	}
	d.buf = d.buf[:0]
	if cap(d.buf) > 4096 {
		d.buf = nil
	}
	d.escape, d.bad = false, false
}
