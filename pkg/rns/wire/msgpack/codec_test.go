package msgpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestCanonicalVectors: umsgpack.packb output at every size
// boundary decodes and re-encodes to the same bytes.
func TestCanonicalVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Msgpack) < 60 {
		t.Fatalf("%d msgpack vectors", len(v.Msgpack))
	}
	lim := Limits{MaxItems: 1 << 20}
	for _, b := range v.Msgpack {
		val, err := DecodeValue(b, lim)
		if err != nil {
			t.Fatalf("decode %.40x: %v", []byte(b), err)
		}
		if got := val.Encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encode\n got %.80x\nwant %.80x", got, []byte(b))
		}
	}
}

// TestRepackVectors: non-canonical input re-packs as umsgpack
// re-packs it, and input umsgpack refuses is refused.
func TestRepackVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Repack {
		t.Run(hex.EncodeToString(c.In), func(t *testing.T) {
			val, _, err := DecodeValuePrefix(c.In, Limits{})
			if c.Error != "" {
				if err == nil {
					t.Fatalf("reference raises %s, decoded %x", c.Error, val.Encode())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := val.Encode(); !bytes.Equal(got, c.Out) {
				t.Fatalf("got %x, want %x", got, []byte(c.Out))
			}
		})
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"nil", Nil(), "c0"},
		{"true", Bool(true), "c3"},
		{"uint above int64", Uint(math.MaxUint64), "cfffffffffffffffff"},
		{"uint small is int", Uint(5), "05"},
		{"float", Float(1700000000.25), "cb41d954fc40100000"},
		{"nil bin", Bin(nil), "c400"},
		{"ext", Ext(-2, []byte{1, 2, 3}), "c703fe010203"},
		{"map order kept", Map(KV{Int(2), Nil()}, KV{Int(1), Nil()}), "8202c001c0"},
		{"str 31", Str(strings.Repeat("a", 31)), "bf" + strings.Repeat("61", 31)},
		{"str 32", Str(strings.Repeat("a", 32)), "d920" + strings.Repeat("61", 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.v.Encode()); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 40)
	deep = append(deep, 0xc0)
	tests := []struct {
		name string
		in   []byte
		lim  Limits
		want error
	}{
		{"array32 header claims 4G items", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrFormat},
		{"map32 header claims 4G entries", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrFormat},
		{"bin32 longer than input", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 1}, Limits{}, ErrFormat},
		{"str32 longer than input", []byte{0xdb, 0x7f, 0xff, 0xff, 0xff}, Limits{}, ErrFormat},
		{"too deep", deep, Limits{}, ErrLimit},
		{"depth limit", []byte{0x91, 0x91, 0xc0}, Limits{MaxDepth: 1}, ErrLimit},
		{"item limit", []byte{0x93, 1, 2, 3}, Limits{MaxItems: 3}, ErrLimit},
		{"size limit", []byte{0xc4, 3, 1, 2, 3}, Limits{MaxSize: 4}, ErrLimit},
		{"trailing", []byte{0xc0, 0xc0}, Limits{}, ErrFormat},
		{"empty", nil, Limits{}, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeValue(tc.in, tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := DecodeValue([]byte{0x93, 1, 2, 3}, Limits{MaxItems: 4}); err != nil {
		t.Fatalf("exactly at the item limit: %v", err)
	}
	// On 32-bit platforms a 32-bit container count can arrive here as a negative int.
	d := &decoder{b: []byte{0xc0}, lim: Limits{}.withDefaults()}
	if err := d.reserve(-1, 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("negative container count: got %v, want ErrFormat", err)
	}
}

func TestValueAccessors(t *testing.T) {
	m := Map(KV{Int(1), Str("one")}, KV{Array(Int(1), Int(2)), Bin([]byte("t"))})
	if v, ok := m.Get(Bool(true)); !ok || v.Kind() != KindStr {
		t.Fatalf("True looks up key 1 in Python: %v %v", v, ok)
	}
	if v, ok := m.Get(Float(1)); !ok || v.Kind() != KindStr {
		t.Fatal("1.0 looks up key 1 in Python")
	}
	if _, ok := m.Get(Str("1")); ok {
		t.Fatal("str key matched an int key")
	}
	if v, ok := m.Get(Array(Float(1), Int(2))); !ok || v.Kind() != KindBin {
		t.Fatal("tuple key lookup")
	}
	if _, ok := m.Get(Map()); ok {
		t.Fatal("map key is unhashable")
	}
	if m.Len() != 2 || m.Entry(5).Key.Kind() != KindNil || m.Index(0).Kind() != KindNil {
		t.Fatal("out of range accessors")
	}
	if !m.Equal(Map(KV{Int(1), Str("one")}, KV{Array(Int(1), Int(2)), Bin([]byte("t"))})) || m.Equal(Nil()) {
		t.Fatal("Equal")
	}
	if u, ok := Uint(math.MaxUint64).AsUint(); !ok || u != math.MaxUint64 {
		t.Fatal("AsUint")
	}
	if _, ok := Int(-1).AsUint(); ok {
		t.Fatal("negative AsUint")
	}
}

func TestDictKey(t *testing.T) {
	nan := Float(math.NaN())
	tests := []struct {
		name string
		a, b Value
		same bool
	}{
		{"1 and True", Int(1), Bool(true), true},
		{"1 and 1.0", Int(1), Float(1), true},
		{"0 and False", Int(0), Bool(false), true},
		{"-0.0 and 0", Float(math.Copysign(0, -1)), Int(0), true},
		{"max uint and its float", Uint(math.MaxUint64), Float(math.MaxUint64), false},
		{"1 and 1.5", Int(1), Float(1.5), false},
		{"str and bin", Str("a"), Bin([]byte("a")), false},
		{"nil and 0", Nil(), Int(0), false},
		{"tuples by element", Array(Int(1), Str("x")), Array(Bool(true), Str("x")), true},
		{"tuple and its prefix", Array(Int(1), Int(2)), Array(Int(1)), false},
		{"ext by type", Ext(1, []byte{1}), Ext(2, []byte{1}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, okA := tc.a.DictKey()
			kb, okB := tc.b.DictKey()
			if !okA || !okB {
				t.Fatalf("hashable keys refused: %v %v", okA, okB)
			}
			if (ka == kb) != tc.same {
				t.Fatalf("same key = %v, want %v", ka == kb, tc.same)
			}
		})
	}
	for _, v := range []Value{Map(), Array(Int(1), Map()), nan, Array(nan)} {
		if _, ok := v.DictKey(); ok {
			t.Fatalf("%s value accepted as a key that can match", v.Kind())
		}
	}
}
