package msgpack

import (
	"encoding/binary"
	"math"
)

// Encode returns the value's canonical encoding, byte for byte what
// umsgpack.packb produces for the equivalent Python object.
func (v Value) Encode() []byte { return v.AppendTo(nil) }

// AppendTo appends the value's canonical encoding to dst.
func (v Value) AppendTo(dst []byte) []byte {
	switch v.kind {
	case KindNil:
		return append(dst, 0xc0)
	case KindBool:
		if v.num == 1 {
			return append(dst, 0xc3)
		}
		return append(dst, 0xc2)
	case KindInt:
		return appendInt(dst, int64(v.num))
	case KindUint:
		return appendUint(dst, v.num)
	case KindFloat:
		dst = append(dst, 0xcb)
		return binary.BigEndian.AppendUint64(dst, v.num)
	case KindStr:
		return appendStr(dst, v.b)
	case KindBin:
		return appendBin(dst, v.b)
	case KindExt:
		return appendExt(dst, v.ext, v.b)
	case KindArray:
		dst = appendContainer(dst, len(v.list), 0x90, 0xdc)
		for _, e := range v.list {
			dst = e.AppendTo(dst)
		}
		return dst
	case KindMap:
		dst = appendContainer(dst, len(v.list)/2, 0x80, 0xde)
		for _, e := range v.list {
			dst = e.AppendTo(dst)
		}
		return dst
	}
	return append(dst, 0xc0)
}

// umsgpack._pack_integer: the smallest encoding, unsigned forms for
// non-negative numbers.
func appendInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return appendUint(dst, uint64(i))
	}
	switch {
	case i >= -32:
		return append(dst, byte(i))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(i))
}

func appendUint(dst []byte, u uint64) []byte {
	switch {
	case u < 128:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

// umsgpack._pack_string: fixstr below 32 bytes, then str8, str16, str32.
func appendStr(dst, s []byte) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

// umsgpack._pack_binary: bin8, bin16, bin32 (there is no fixbin).
func appendBin(dst, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// umsgpack._pack_ext: fixext for 1, 2, 4, 8 and 16 bytes, else ext8/16/32.
func appendExt(dst []byte, typ int8, data []byte) []byte {
	n := len(data)
	switch n {
	case 1:
		dst = append(dst, 0xd4, byte(typ))
	case 2:
		dst = append(dst, 0xd5, byte(typ))
	case 4:
		dst = append(dst, 0xd6, byte(typ))
	case 8:
		dst = append(dst, 0xd7, byte(typ))
	case 16:
		dst = append(dst, 0xd8, byte(typ))
	default:
		switch {
		case n <= math.MaxUint8:
			dst = append(dst, 0xc7, byte(n), byte(typ))
		case n <= math.MaxUint16:
			dst = append(binary.BigEndian.AppendUint16(append(dst, 0xc8), uint16(n)), byte(typ))
		default:
			dst = append(binary.BigEndian.AppendUint32(append(dst, 0xc9), uint32(n)), byte(typ))
		}
	}
	return append(dst, data...)
}

// umsgpack._pack_array / _pack_map: fix form below 16, then 16- and 32-bit
// lengths.
func appendContainer(dst []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, code16+1), uint32(n))
}
