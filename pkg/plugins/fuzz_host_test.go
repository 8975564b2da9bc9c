package plugins

import (
	"context"
	"errors"
	"testing"
)

// FuzzHostArgs calls a host function with fuzzed i32 arguments from a guest with one page of memory:
// the host never panics, a call either succeeds or fails with ErrCallFailed, and a failed call has
// no effect (nothing sent, stored or logged).
func FuzzHostArgs(f *testing.F) {
	f.Add(uint8(0), int32(0), int32(1), int32(0), int32(1))
	f.Add(uint8(3), int32(1), int32(-16), int32(32), int32(0))
	f.Add(uint8(4), int32(0), int32(32), int32(65530), int32(100))
	f.Add(uint8(6), int32(0), int32(1), int32(0), int32(0x7fffffff))
	fx := newFixture(f, Options{})
	m := Manifest{ID: "fuzz", Version: "1.0.0", ABI: 1, EntryPoints: []string{EntryOnMessage}, Capabilities: allCaps,
		PublisherKeyID: "0000000000000000"}
	f.Fuzz(func(t *testing.T, fn uint8, a0, a1, a2, a3 int32) {
		hf := hostFuncs[int(fn)%len(hostFuncs)]
		args := []int64{int64(a0), int64(a1), int64(a2), int64(a3)}[:len(hf.params)]
		var body []byte
		for _, a := range args {
			body = append(body, i32c(a)...)
		}
		body = append(body, call(0)...)
		p, err := fx.mg.load(context.Background(), m, onMessage(body, hostImport(hf.name)), allCaps)
		if err != nil {
			t.Fatal(err)
		}
		defer p.close()
		sends, kv := fx.host.count(), len(fx.rec.kv["fuzz"])
		_, logs := p.snapshot()
		_, err = p.call(context.Background(), EntryOnMessage, []byte("input"))
		if err != nil && !errors.Is(err, ErrCallFailed) {
			t.Fatalf("%s%v: %v", hf.name, args, err)
		}
		_, logs2 := p.snapshot()
		if err != nil && (fx.host.count() != sends || len(fx.rec.kv["fuzz"]) != kv || len(logs2) != len(logs)) {
			t.Fatalf("%s%v failed (%v) but had an effect", hf.name, args, err)
		}
	})
}
