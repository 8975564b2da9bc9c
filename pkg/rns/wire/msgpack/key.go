package msgpack

import (
	"math"
	"strconv"
	"strings"
)

type keyState uint8

const (
	keyHashable   keyState = iota
	keyUnhashable          // contains a map
	keyNeverEqual          // contains a NaN, which equals nothing
)

// DictKey returns v's identity as a Python dictionary key: two values are
// the same key to the reference (umsgpack decodes them to equal, hashable
// Python objects, so 1, 1.0 and True are one key) exactly when their DictKey
// strings are equal. ok is false when v cannot match any key: it contains a
// map (unhashable) or a NaN (equal to nothing). The string's form is opaque;
// compare it only with other DictKey results.
func (v Value) DictKey() (key string, ok bool) { return pyKey(v) }

func pyKey(v Value) (string, bool) {
	s, st := pyKeyState(v)
	return s, st == keyHashable
}

// pyKeyState returns a string that is equal for two values exactly when the
// Python objects umsgpack makes of them are equal dictionary keys.
func pyKeyState(v Value) (string, keyState) {
	var sb strings.Builder
	st := writeKey(&sb, v)
	return sb.String(), st
}

func writeKey(sb *strings.Builder, v Value) keyState {
	switch v.kind {
	case KindNil:
		sb.WriteString("n;")
	case KindBool, KindInt:
		sb.WriteString("i" + strconv.FormatInt(int64(v.num), 10) + ";")
	case KindUint:
		sb.WriteString("i" + strconv.FormatUint(v.num, 10) + ";")
	case KindFloat:
		f := math.Float64frombits(v.num)
		switch {
		case math.IsNaN(f):
			return keyNeverEqual
		case f == math.Trunc(f) && f >= math.MinInt64 && f < 0:
			sb.WriteString("i" + strconv.FormatInt(int64(f), 10) + ";")
		case f == math.Trunc(f) && f >= 0 && f < math.MaxUint64:
			sb.WriteString("i" + strconv.FormatUint(uint64(f), 10) + ";")
		default:
			sb.WriteString("f" + strconv.FormatUint(v.num, 16) + ";")
		}
	case KindStr, KindBin:
		tag := "s"
		if v.kind == KindBin {
			tag = "b"
		}
		sb.WriteString(tag + strconv.Itoa(len(v.b)) + ":")
		sb.Write(v.b)
	case KindExt:
		sb.WriteString("e" + strconv.Itoa(int(v.ext)) + "," + strconv.Itoa(len(v.b)) + ":")
		sb.Write(v.b)
	case KindArray:
		sb.WriteString("t" + strconv.Itoa(len(v.list)) + "(")
		st := keyHashable
		for _, e := range v.list {
			switch writeKey(sb, e) {
			case keyUnhashable:
				return keyUnhashable
			case keyNeverEqual:
				st = keyNeverEqual
			}
		}
		sb.WriteString(")")
		return st
	case KindMap:
		return keyUnhashable
	}
	return keyHashable
}
