package link

import (
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Resource sizes (RNS/Resource.py).
const (
	mapHashLen = 4 // Resource.MAPHASH_LEN
	randomLen  = 4 // Resource.RANDOM_HASH_SIZE
	// MaxSegmentSize is Resource.MAX_EFFICIENT_SIZE: larger data is sent in
	// segments of this size.
	MaxSegmentSize = 1<<20 - 1
	advOverhead    = 134 // ResourceAdvertisement.OVERHEAD
	// hashmapMaxLen is ResourceAdvertisement.HASHMAP_MAX_LEN: map hashes per
	// advertisement or hashmap update (74), from the default link MDU.
	hashmapMaxLen = (wire.LinkMDU - advOverhead) / mapHashLen
	windowMaxFast = 75
	// collisionGuard is ResourceAdvertisement.COLLISION_GUARD_SIZE.
	collisionGuard = 2*windowMaxFast + hashmapMaxLen
)

// Advertisement flag bits (ResourceAdvertisement.f).
const (
	flagEncrypted  = 0x01
	flagCompressed = 0x02
	flagSplit      = 0x04
	flagRequest    = 0x08
	flagResponse   = 0x10
	flagMetadata   = 0x20
)

// Advertisement is a resource advertisement (ResourceAdvertisement): the
// msgpack map with keys t d n h r o i l q f m.
type Advertisement struct {
	// TransferSize (t) is the encrypted size of this segment.
	TransferSize int64
	// DataSize (d) is the total uncompressed size of the whole resource.
	DataSize int64
	// Parts (n) is the number of parts of this segment.
	Parts int
	// Hash (h) is the segment's resource hash.
	Hash wire.FullHash
	// RandomHash (r) salts the map hashes and the resource hash.
	RandomHash [randomLen]byte
	// OriginalHash (o) is the first segment's hash.
	OriginalHash wire.FullHash
	// SegmentIndex (i) counts from 1; TotalSegments (l) is the count.
	SegmentIndex, TotalSegments int
	// RequestID (q) links a request or response resource, else nil.
	RequestID []byte
	// Flags (f): encrypted, compressed, split, request, response, metadata.
	Flags uint8
	// Hashmap (m) holds the first map hashes, 4 bytes each.
	Hashmap []byte
}

// Compressed reports the bz2 flag.
func (a *Advertisement) Compressed() bool { return a.Flags&flagCompressed != 0 }

// Encrypted reports the encryption flag.
func (a *Advertisement) Encrypted() bool { return a.Flags&flagEncrypted != 0 }

// IsRequest reports a request carried as a resource.
func (a *Advertisement) IsRequest() bool { return a.RequestID != nil && a.Flags&flagRequest != 0 }

// IsResponse reports a response carried as a resource.
func (a *Advertisement) IsResponse() bool { return a.RequestID != nil && a.Flags&flagResponse != 0 }

// HasMetadata reports the metadata flag.
func (a *Advertisement) HasMetadata() bool { return a.Flags&flagMetadata != 0 }

// Marshal encodes the advertisement in the reference's key order
// (ResourceAdvertisement.pack).
func (a *Advertisement) Marshal() []byte {
	q := msgpack.Nil()
	if a.RequestID != nil {
		q = msgpack.Bin(a.RequestID)
	}
	kv := func(k string, v msgpack.Value) msgpack.KV { return msgpack.KV{Key: msgpack.Str(k), Value: v} }
	return msgpack.Map(
		kv("t", msgpack.Int(a.TransferSize)),
		kv("d", msgpack.Int(a.DataSize)),
		kv("n", msgpack.Int(int64(a.Parts))),
		kv("h", msgpack.Bin(a.Hash[:])),
		kv("r", msgpack.Bin(a.RandomHash[:])),
		kv("o", msgpack.Bin(a.OriginalHash[:])),
		kv("i", msgpack.Int(int64(a.SegmentIndex))),
		kv("l", msgpack.Int(int64(a.TotalSegments))),
		kv("q", q),
		kv("f", msgpack.Int(int64(a.Flags))),
		kv("m", msgpack.Bin(a.Hashmap)),
	).Encode()
}

// maxAdvertisementSize bounds the advertisement bytes parsed: it travels in
// one packet.
const maxAdvertisementSize = 1 << 16

// ParseAdvertisement decodes and bounds-checks an advertisement
// (ResourceAdvertisement.unpack, which refuses transfer sizes above three
// segments).
func ParseAdvertisement(b []byte) (*Advertisement, error) {
	m, err := msgpack.DecodeValue(b, msgpack.Limits{MaxSize: maxAdvertisementSize, MaxDepth: 2, MaxItems: 64})
	if err != nil {
		return nil, fmt.Errorf("resource advertisement: %w", err)
	}
	if m.Kind() != msgpack.KindMap {
		return nil, fmt.Errorf("resource advertisement: not a map: %w", ErrAdvertisement)
	}
	bad := func(k string) error { return fmt.Errorf("resource advertisement field %q: %w", k, ErrAdvertisement) }
	get := func(k string) msgpack.Value { v, _ := m.Get(msgpack.Str(k)); return v }
	num := func(k string, hi int64) (int64, error) {
		x, ok := get(k).AsInt()
		if !ok || x < 0 || x > hi {
			return 0, bad(k)
		}
		return x, nil
	}
	bin := func(k string, n int) ([]byte, error) {
		x, ok := get(k).AsBin()
		if !ok || (n >= 0 && len(x) != n) {
			return nil, bad(k)
		}
		return x, nil
	}
	a := &Advertisement{}
	if a.TransferSize, err = num("t", 3*MaxSegmentSize); err != nil {
		return nil, err
	}
	if a.DataSize, err = num("d", 1<<50); err != nil {
		return nil, err
	}
	n, err := num("n", 3*MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	a.Parts = int(n)
	for _, f := range []struct {
		k   string
		dst []byte
	}{{"h", a.Hash[:]}, {"r", a.RandomHash[:]}, {"o", a.OriginalHash[:]}} {
		x, err := bin(f.k, len(f.dst))
		if err != nil {
			return nil, err
		}
		copy(f.dst, x)
	}
	i, err := num("i", 1<<31)
	if err != nil {
		return nil, err
	}
	l, err := num("l", 1<<31)
	if err != nil || i < 1 || i > l {
		return nil, bad("i")
	}
	a.SegmentIndex, a.TotalSegments = int(i), int(l)
	switch q := get("q"); q.Kind() {
	case msgpack.KindNil:
	case msgpack.KindBin:
		qb, _ := q.AsBin()
		if len(qb) != wire.TruncatedHashLen {
			return nil, bad("q")
		}
		a.RequestID = append([]byte(nil), qb...)
	default:
		return nil, bad("q")
	}
	f, err := num("f", 0xff)
	if err != nil {
		return nil, err
	}
	a.Flags = uint8(f) //nolint:gosec // G115: num bounds f to 0..0xff
	hm, err := bin("m", -1)
	if err != nil {
		return nil, err
	}
	if len(hm)%mapHashLen != 0 || len(hm)/mapHashLen > a.Parts {
		return nil, bad("m")
	}
	a.Hashmap = append([]byte(nil), hm...)
	return a, nil
}
