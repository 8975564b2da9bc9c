package lxmf

import (
	"bytes"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// fuzzSeeds adds the packed messages and payload fragments of the vectors.
func fuzzSeeds(f *testing.F) *lxmfVectors {
	v, _ := loadVectors(f)
	for _, m := range v.Messages {
		if len(m.Packed) < 4096 {
			f.Add([]byte(m.Packed))
		}
	}
	for _, m := range v.Stamped {
		f.Add([]byte(m.Packed))
	}
	for _, m := range v.Unpack {
		f.Add([]byte(m.Packed))
	}
	return v
}

// FuzzUnpack: Unpack never panics; whatever it accepts has a stable id and
// re-packs (fields included) to canonical bytes that unpack to the same
// message.
func FuzzUnpack(f *testing.F) {
	fuzzSeeds(f)
	src := genIdentity(f)
	lim := msgpack.Limits{MaxSize: 1 << 20, MaxItems: 4096}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unpack(b, lim)
		if err != nil {
			return
		}
		again, err := Unpack(m.Packed, lim)
		if err != nil || again.ID != m.ID || !bytes.Equal(again.Stamp, m.Stamp) {
			t.Fatalf("unpack not stable: %v", err)
		}
		_ = m.Verify(nil)
		fv := m.Fields.Value()
		enc := fv.Encode()
		back, err := msgpack.DecodeValue(enc, msgpack.Limits{MaxSize: 1 << 21, MaxItems: 8192})
		if err != nil || !back.Equal(fv) {
			t.Fatalf("fields re-encode does not decode back: %v", err)
		}
		// re-sign what was received: it must survive a Pack/Unpack round trip
		m.Source, m.Packed = [16]byte{}, nil
		if m.Pack(src) != nil {
			return // a timestamp Pack refuses (0, NaN, Inf)
		}
		r, err := Unpack(m.Packed, msgpack.Limits{MaxSize: 1 << 21, MaxItems: 8192})
		if err != nil || r.Verify(src) != nil || r.ID != m.ID || !r.Fields.Value().Equal(fv) ||
			!bytes.Equal(r.Content, m.Content) || !bytes.Equal(r.Stamp, m.Stamp) {
			t.Fatalf("re-packed message does not round trip: %v", err)
		}
	})
}

// FuzzAppData: announce app data parsers never panic, and a parsed delivery
// announce re-packs to app data that parses the same.
func FuzzAppData(f *testing.F) {
	v := fuzzSeeds(f)
	for _, a := range v.AppDataParse {
		f.Add([]byte(a.AppData))
	}
	for _, a := range v.DeliveryAppData {
		f.Add([]byte(a.AppData))
	}
	for _, a := range v.PNAppData {
		f.Add([]byte(a.AppData))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParsePropagationNodeAppData(b); err == nil {
			_, _ = p.Name()
			if _, err := ParsePropagationNodeAppData(p.Pack()); err != nil {
				t.Fatalf("re-packed pn app data does not parse: %v", err)
			}
		}
		d, err := ParseDeliveryAppData(b)
		if err != nil || d.Legacy {
			return
		}
		d2, err := ParseDeliveryAppData(d.Pack())
		if err != nil || d2.DisplayName != d.DisplayName || d2.HasDisplayName != d.HasDisplayName ||
			(d.StampCost < 255 && d2.StampCost != d.StampCost) {
			t.Fatalf("re-pack changes %+v to %+v (%v)", d, d2, err)
		}
		_, _, _ = UnpackPropagationContainer(b, msgpack.Limits{MaxItems: 1024})
	})
}
