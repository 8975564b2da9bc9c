package msgpack

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Default decode limits, used for zero fields of Limits.
const (
	DefaultMaxSize  = 32 << 20 // 32 MiB: room for large attachments over resources
	DefaultMaxDepth = 32
	DefaultMaxItems = 1 << 16
)

// Limits bounds a decode. Memory use of a decoded tree is at most about
// 64 bytes per item on top of the input, which the tree aliases.
type Limits struct {
	MaxSize  int // largest input in bytes
	MaxDepth int // deepest nesting of arrays and maps
	MaxItems int // most values in one decoded tree
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	return l
}

// DecodeValue decodes exactly one msgpack value filling all of b. The result
// aliases b.
func DecodeValue(b []byte, lim Limits) (Value, error) {
	v, n, err := DecodeValuePrefix(b, lim)
	if err != nil {
		return Value{}, err
	}
	if n != len(b) {
		return Value{}, fmt.Errorf("%d trailing bytes: %w", len(b)-n, ErrFormat)
	}
	return v, nil
}

// DecodeValuePrefix decodes the first msgpack value in b and returns it with
// the number of bytes it used; like umsgpack.unpackb it ignores what follows.
// It accepts what the reference's unpacker accepts and no more: strings must
// be UTF-8, 0xc1 is refused, map keys must be hashable and unique under
// Python equality, and msgpack timestamps (ext -1) must have 4, 8 or 12 bytes
// and fit a Python datetime; they are normalised to the form the reference
// would re-pack. The result aliases b.
func DecodeValuePrefix(b []byte, lim Limits) (Value, int, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxSize {
		return Value{}, 0, fmt.Errorf("input of %d bytes, limit %d: %w", len(b), lim.MaxSize, ErrLimit)
	}
	d := decoder{b: b, lim: lim}
	v, err := d.value(0)
	if err != nil {
		return Value{}, 0, err
	}
	return v, d.off, nil
}

type decoder struct {
	b     []byte
	off   int
	items int
	lim   Limits
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, fmt.Errorf("truncated at offset %d: %w", d.off, ErrFormat)
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, c := range s {
		u = u<<8 | uint64(c)
	}
	return u, nil
}

func (d *decoder) value(depth int) (Value, error) {
	d.items++
	if d.items > d.lim.MaxItems {
		return Value{}, fmt.Errorf("more than %d items: %w", d.lim.MaxItems, ErrLimit)
	}
	cb, err := d.take(1)
	if err != nil {
		return Value{}, err
	}
	c := cb[0]
	switch {
	case c <= 0x7f:
		return Int(int64(c)), nil
	case c >= 0xe0:
		return Int(int64(int8(c))), nil
	case c&0xf0 == 0x80:
		return d.mapValue(int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return Value{}, nil
	case 0xc2:
		return Bool(false), nil
	case 0xc3:
		return Bool(true), nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return Value{}, err
		}
		s, err := d.take(int(n))
		if err != nil {
			return Value{}, err
		}
		return Bin(s), nil
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return Value{}, err
		}
		return d.ext(int(n))
	case 0xca:
		u, err := d.uint(4)
		if err != nil {
			return Value{}, err
		}
		return Float(float64(math.Float32frombits(uint32(u)))), nil
	case 0xcb:
		u, err := d.uint(8)
		if err != nil {
			return Value{}, err
		}
		return Float(math.Float64frombits(u)), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return Value{}, err
		}
		return Uint(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		u, err := d.uint(size)
		if err != nil {
			return Value{}, err
		}
		shift := 64 - 8*size
		return Int(int64(u<<shift) >> shift), nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return Value{}, err
		}
		return d.str(int(n))
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return Value{}, err
		}
		return d.array(int(n), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return Value{}, err
		}
		return d.mapValue(int(n), depth)
	}
	return Value{}, fmt.Errorf("reserved code 0x%02x: %w", c, ErrFormat)
}

func (d *decoder) str(n int) (Value, error) {
	s, err := d.take(n)
	if err != nil {
		return Value{}, err
	}
	if !utf8.Valid(s) {
		return Value{}, fmt.Errorf("string is not utf-8: %w", ErrFormat)
	}
	return Value{kind: KindStr, b: s}, nil
}

func (d *decoder) ext(n int) (Value, error) {
	t, err := d.take(1)
	if err != nil {
		return Value{}, err
	}
	data, err := d.take(n)
	if err != nil {
		return Value{}, err
	}
	typ := int8(t[0])
	if typ == -1 {
		data, err = normaliseTimestamp(data)
		if err != nil {
			return Value{}, err
		}
	}
	return Ext(typ, data), nil
}

// reserve checks that n more items can exist: each needs at least one input
// byte and counts against MaxItems, so a forged length never allocates.
func (d *decoder) reserve(n, depth int) error {
	if depth >= d.lim.MaxDepth {
		return fmt.Errorf("nesting deeper than %d: %w", d.lim.MaxDepth, ErrLimit)
	}
	// n < 0: on 32-bit platforms a 32-bit count (or twice a map's count) does not fit in an int.
	if n < 0 || n > len(d.b)-d.off {
		return fmt.Errorf("container of %d items in %d bytes: %w", n, len(d.b)-d.off, ErrFormat)
	}
	if n > d.lim.MaxItems-d.items {
		return fmt.Errorf("more than %d items: %w", d.lim.MaxItems, ErrLimit)
	}
	return nil
}

func (d *decoder) array(n, depth int) (Value, error) {
	if err := d.reserve(n, depth); err != nil {
		return Value{}, err
	}
	list := make([]Value, n)
	for i := range list {
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		list[i] = v
	}
	return Value{kind: KindArray, list: list}, nil
}

// mapValue follows umsgpack._unpack_map: map keys are refused, array keys
// become tuples (and, as there, a repeated tuple key overwrites the earlier
// value in place instead of failing), any other repeated key fails.
func (d *decoder) mapValue(n, depth int) (Value, error) {
	if err := d.reserve(2*n, depth); err != nil {
		return Value{}, err
	}
	list := make([]Value, 0, 2*n)
	keys := make(map[string]int, n)
	for range n {
		k, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		id, st := pyKeyState(k)
		if st == keyUnhashable {
			return Value{}, fmt.Errorf("unhashable %s map key: %w", k.kind, ErrFormat)
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		if st == keyHashable {
			if at, dup := keys[id]; dup {
				if k.kind != KindArray {
					return Value{}, fmt.Errorf("duplicate map key: %w", ErrFormat)
				}
				list[at+1] = v
				continue
			}
			keys[id] = len(list)
		}
		list = append(list, k, v)
	}
	return Value{kind: KindMap, list: list}, nil
}

// Python datetime range: 0001-01-01T00:00:00 to 9999-12-31T23:59:59.999999.
const (
	minDatetimeSec = -62135596800
	maxDatetimeSec = 253402300799
)

// normaliseTimestamp decodes a msgpack timestamp as umsgpack does (to a
// datetime with microsecond resolution) and returns the bytes its packer
// writes for that datetime.
func normaliseTimestamp(data []byte) ([]byte, error) {
	var sec, usec int64
	switch len(data) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(data))
	case 8:
		v := binary.BigEndian.Uint64(data)
		sec = int64(v & (1<<34 - 1))
		usec = int64(v>>34) / 1000
	case 12:
		usec = int64(binary.BigEndian.Uint32(data[:4])) / 1000
		sec = int64(binary.BigEndian.Uint64(data[4:]))
	default:
		return nil, fmt.Errorf("timestamp of %d bytes: %w", len(data), ErrFormat)
	}
	if sec < minDatetimeSec-1 || sec > maxDatetimeSec+1 {
		return nil, fmt.Errorf("timestamp out of range: %w", ErrFormat)
	}
	total := sec*1_000_000 + usec
	sec, usec = total/1_000_000, total%1_000_000
	if usec < 0 {
		sec, usec = sec-1, usec+1_000_000
	}
	if sec < minDatetimeSec || sec > maxDatetimeSec {
		return nil, fmt.Errorf("timestamp out of range: %w", ErrFormat)
	}
	switch {
	case usec == 0 && sec >= 0 && sec <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(nil, uint32(sec)), nil
	case sec >= 0 && sec < 1<<34:
		return binary.BigEndian.AppendUint64(nil, uint64(usec*1000)<<34|uint64(sec)), nil
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(usec*1000))
	return binary.BigEndian.AppendUint64(out, uint64(sec)), nil
}
