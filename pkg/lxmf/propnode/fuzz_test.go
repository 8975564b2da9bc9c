package propnode

import (
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

var fuzzLimits = msgpack.Limits{MaxSize: 1 << 16, MaxItems: 1 << 12}

func FuzzParseGetRequest(f *testing.F) {
	f.Add(GetRequest{List: true}.Value().Encode())
	f.Add(GetRequest{Wants: []wire.FullHash{{1}}, Haves: []wire.FullHash{}, TransferLimitKB: 1000}.Value().Encode())
	f.Add(GetRequest{Haves: []wire.FullHash{{2}, {3}}}.Value().Encode())
	f.Add([]byte{0x92, 0xc0, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, fuzzLimits)
		if err != nil {
			return
		}
		g, err := ParseGetRequest(v)
		if err != nil {
			return
		}
		again, err := ParseGetRequest(g.Value())
		if err != nil || again.List != g.List || len(again.Wants) != len(g.Wants) || len(again.Haves) != len(g.Haves) {
			t.Fatalf("round trip %+v -> %+v, %v", g, again, err)
		}
	})
}

func FuzzParseOfferRequest(f *testing.F) {
	f.Add(msgpack.Array(msgpack.Bin(make([]byte, 32)), msgpack.Array(msgpack.Bin(make([]byte, 32)))).Encode())
	f.Add([]byte{0x92, 0xc4, 0x00, 0x90})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, fuzzLimits)
		if err != nil {
			return
		}
		o, err := ParseOfferRequest(v)
		if err == nil && len(o.IDs) > v.Index(1).Len() {
			t.Fatalf("%d ids from %d entries", len(o.IDs), v.Index(1).Len())
		}
	})
}

func FuzzParseResponses(f *testing.F) {
	f.Add(idsValue([]wire.FullHash{{1}}).Encode())
	f.Add(msgpack.Array(msgpack.Bin(make([]byte, 200))).Encode())
	f.Add(msgpack.Int(ErrorNoIdentity).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := msgpack.DecodeValue(b, fuzzLimits)
		if err != nil {
			return
		}
		_ = codeErr(v)
		_, _ = ParseMessageList(v)
		if ms, err := ParseMessages(v); err == nil && len(ms) != v.Len() {
			t.Fatalf("%d messages from %d entries", len(ms), v.Len())
		}
	})
}
