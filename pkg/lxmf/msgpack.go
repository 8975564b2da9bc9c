package lxmf

import (
	"encoding/binary"
	"math"
)

// This file and msgpack_decode.go hold a small msgpack codec that encodes
// exactly as the reference's packer (RNS/vendor/umsgpack.py, u-msgpack-python
// 2.7.1, in its default mode) and decodes with the same acceptance rules and
// explicit size limits. They depend on nothing else in the package, so the
// codec can move to a shared package unchanged.

// Kind is the msgpack type of a Value.
type Kind uint8

// Value kinds. Integers in the int64 range are KindInt; only integers above
// math.MaxInt64 are KindUint.
const (
	KindNil Kind = iota
	KindBool
	KindInt
	KindUint
	KindFloat
	KindStr
	KindBin
	KindArray
	KindMap
	KindExt
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindNil:
		return "nil"
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindUint:
		return "uint"
	case KindFloat:
		return "float"
	case KindStr:
		return "str"
	case KindBin:
		return "bin"
	case KindArray:
		return "array"
	case KindMap:
		return "map"
	case KindExt:
		return "ext"
	}
	return "invalid"
}

// Value is one msgpack value: a scalar, a byte string, an array or a map
// (kept in wire order, as the reference's dicts keep insertion order). The
// zero Value is nil. Values are immutable once built; slices returned by the
// accessors alias the Value and must not be modified.
type Value struct {
	kind Kind
	ext  int8
	num  uint64  // bool (0/1), int64 bits, uint64, float64 bits
	b    []byte  // str, bin, ext data
	list []Value // array elements; map keys and values interleaved
}

// KV is one map entry.
type KV struct {
	Key   Value
	Value Value
}

// Nil returns the nil value.
func Nil() Value { return Value{} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: KindInt, num: uint64(i)} }

// Uint returns an unsigned integer value; values up to math.MaxInt64 are
// stored as KindInt, so equal numbers compare equal whatever their origin.
func Uint(u uint64) Value {
	if u <= math.MaxInt64 {
		return Int(int64(u))
	}
	return Value{kind: KindUint, num: u}
}

// Float returns a floating point value; it always encodes as float64, as the
// reference packs Python floats.
func Float(f float64) Value { return Value{kind: KindFloat, num: math.Float64bits(f)} }

// Str returns a string value (msgpack str, Python str).
func Str(s string) Value { return Value{kind: KindStr, b: []byte(s)} }

// Bin returns a binary value (msgpack bin, Python bytes). A nil slice gives
// an empty bin, never nil.
func Bin(b []byte) Value {
	if b == nil {
		b = []byte{}
	}
	return Value{kind: KindBin, b: b}
}

// Array returns an array value.
func Array(elems ...Value) Value { return Value{kind: KindArray, list: elems} }

// Map returns a map value with entries in the given order. It does not check
// for duplicate keys; Fields.Set does.
func Map(entries ...KV) Value {
	list := make([]Value, 0, 2*len(entries))
	for _, e := range entries {
		list = append(list, e.Key, e.Value)
	}
	return Value{kind: KindMap, list: list}
}

// Ext returns an application extension value (umsgpack.Ext). Type -1 is the
// msgpack timestamp, which the decoder validates and normalises as the
// reference does.
func Ext(typ int8, data []byte) Value {
	if data == nil {
		data = []byte{}
	}
	return Value{kind: KindExt, ext: typ, b: data}
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsNil reports whether the value is nil.
func (v Value) IsNil() bool { return v.kind == KindNil }

// AsBool returns a boolean's value.
func (v Value) AsBool() (bool, bool) { return v.num == 1, v.kind == KindBool }

// AsInt returns an integer in the int64 range.
func (v Value) AsInt() (int64, bool) { return int64(v.num), v.kind == KindInt }

// AsUint returns a non-negative integer.
func (v Value) AsUint() (uint64, bool) {
	switch {
	case v.kind == KindUint:
		return v.num, true
	case v.kind == KindInt && int64(v.num) >= 0:
		return v.num, true
	}
	return 0, false
}

// AsFloat returns a float's value.
func (v Value) AsFloat() (float64, bool) { return math.Float64frombits(v.num), v.kind == KindFloat }

// AsNumber returns an integer or float as float64, as Python arithmetic
// would use it; booleans are not numbers here.
func (v Value) AsNumber() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(int64(v.num)), true
	case KindUint:
		return float64(v.num), true
	case KindFloat:
		return math.Float64frombits(v.num), true
	}
	return 0, false
}

// AsStr returns a string's value.
func (v Value) AsStr() (string, bool) { return string(v.b), v.kind == KindStr }

// AsBin returns a binary value's bytes.
func (v Value) AsBin() ([]byte, bool) { return v.b, v.kind == KindBin }

// AsBytes returns the bytes of a str or bin value.
func (v Value) AsBytes() ([]byte, bool) { return v.b, v.kind == KindBin || v.kind == KindStr }

// AsExt returns an extension value's type and data.
func (v Value) AsExt() (int8, []byte, bool) { return v.ext, v.b, v.kind == KindExt }

// Len returns the number of elements of an array, entries of a map, or bytes
// of a str, bin or ext value; 0 for scalars.
func (v Value) Len() int {
	switch v.kind {
	case KindArray:
		return len(v.list)
	case KindMap:
		return len(v.list) / 2
	case KindStr, KindBin, KindExt:
		return len(v.b)
	}
	return 0
}

// Index returns an array's element i, or nil when out of range or not an
// array.
func (v Value) Index(i int) Value {
	if v.kind != KindArray || i < 0 || i >= len(v.list) {
		return Value{}
	}
	return v.list[i]
}

// Elems returns an array's elements (aliased).
func (v Value) Elems() []Value {
	if v.kind != KindArray {
		return nil
	}
	return v.list
}

// Entry returns a map's entry i.
func (v Value) Entry(i int) KV {
	if v.kind != KindMap || i < 0 || 2*i+1 >= len(v.list) {
		return KV{}
	}
	return KV{Key: v.list[2*i], Value: v.list[2*i+1]}
}

// Get looks a key up in a map with the reference's key equality (Python's:
// 1, 1.0 and True are the same key; str and bin never are).
func (v Value) Get(key Value) (Value, bool) {
	if v.kind != KindMap {
		return Value{}, false
	}
	want, ok := pyKey(key)
	if !ok {
		return Value{}, false
	}
	for i := 0; i+1 < len(v.list); i += 2 {
		if k, ok := pyKey(v.list[i]); ok && k == want {
			return v.list[i+1], true
		}
	}
	return Value{}, false
}

// Equal reports whether two values encode to the same canonical bytes.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind || v.ext != o.ext || v.num != o.num || string(v.b) != string(o.b) || len(v.list) != len(o.list) {
		return false
	}
	for i := range v.list {
		if !v.list[i].Equal(o.list[i]) {
			return false
		}
	}
	return true
}

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
