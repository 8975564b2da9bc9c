package msgpack

import "math"

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
// for duplicate keys; callers that build maps from user input must (see
// Value.DictKey).
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
