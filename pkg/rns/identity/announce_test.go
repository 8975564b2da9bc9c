package identity

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func TestAnnounceVectors(t *testing.T) {
	v := loadVectors(t)
	ids := vectorIdentities(t, v.Identities)
	for i, av := range v.Announces {
		p, err := wire.Unmarshal(unhex(t, av.Packet))
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		a, err := ValidateAnnounce(p)
		if err != nil {
			t.Fatalf("announce %d (%s): %v", i, av.Name, err)
		}
		if a.DestinationHash.String() != av.DestinationHash || a.Identity.Hash() != ids[av.Identity].Hash() {
			t.Errorf("announce %d: destination or identity differs", i)
		}
		if !bytes.Equal(a.AppData, unhex(t, av.AppData)) || !bytes.Equal(a.Ratchet, unhex(t, av.RatchetPublic)) {
			t.Errorf("announce %d: app data or ratchet differs", i)
		}
		if ts := a.Emitted().Unix(); ts != av.Timestamp || ts < av.TimeMin || ts > av.TimeMax {
			t.Errorf("announce %d: emitted %d, want %d in [%d,%d]", i, ts, av.Timestamp, av.TimeMin, av.TimeMax)
		}
		if av.RatchetPrivate != "" {
			r, err := RatchetFromBytes(unhex(t, av.RatchetPrivate))
			if err != nil {
				t.Fatal(err)
			}
			rid := RatchetID(a.Ratchet)
			if !bytes.Equal(r.PublicKey(), a.Ratchet) || !bytes.Equal(rid[:], unhex(t, av.RatchetID)) {
				t.Errorf("announce %d: ratchet key or id differs", i)
			}
		}
	}
	for _, iv := range v.InvalidAnnounces {
		p, err := wire.Unmarshal(unhex(t, iv.Packet))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ValidateAnnounce(p); err == nil {
			t.Errorf("%s: accepted an announce the reference rejects", iv.Name)
		}
	}
	lv := loadLegacyVectors(t)
	for i, av := range lv.Announces {
		p, err := wire.Unmarshal(unhex(t, av.Packet))
		if err != nil {
			t.Fatal(err)
		}
		a, err := ValidateAnnounce(p)
		if err != nil || a.DestinationHash.String() != av.DestinationHash || !bytes.Equal(a.AppData, unhex(t, av.AppData)) {
			t.Errorf("legacy announce %d: %v", i, err)
		}
	}
}

// TestExactAnnounceVectors rebuilds announces the reference made with its
// random prefix, clock and ratchet pinned, and compares them byte for byte.
func TestExactAnnounceVectors(t *testing.T) {
	v := loadVectors(t)
	ids := vectorIdentities(t, v.Identities)
	for i, ev := range v.ExactAnnounces {
		nh, err := NameHash(ev.App, ev.Aspects...)
		if err != nil {
			t.Fatal(err)
		}
		opts := AnnounceOptions{NameHash: nh, Time: time.Unix(ev.Time, 0), Random: unhex(t, ev.Random),
			PathResponse: ev.PathResponse}
		if ev.AppData != "" {
			opts.AppData = unhex(t, ev.AppData)
		}
		if ev.RatchetPrivate != "" {
			r, err := RatchetFromBytes(unhex(t, ev.RatchetPrivate))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.PublicKey(), unhex(t, ev.RatchetPublic)) {
				t.Fatalf("exact announce %d: ratchet public key differs", i)
			}
			opts.Ratchet = r.PublicKey()
		}
		p, err := ids[ev.Identity].NewAnnounce(opts)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, ev.Packet); !bytes.Equal(raw, want) {
			t.Errorf("exact announce %d differs:\n got %x\nwant %x", i, raw, want)
		}
	}
	if _, err := ids[0].NewAnnounce(AnnounceOptions{Random: []byte{1}}); !errors.Is(err, ErrKeyLength) {
		t.Errorf("short random prefix: %v", err)
	}
}

func TestAnnounceRoundTrip(t *testing.T) {
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	r, err := GenerateRatchet()
	if err != nil {
		t.Fatal(err)
	}
	nh, err := NameHash("reticle", "test")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name    string
		opts    AnnounceOptions
		flag    bool
		context wire.Context
	}{
		{"plain", AnnounceOptions{NameHash: nh, Time: when}, false, wire.ContextNone},
		{"app data", AnnounceOptions{NameHash: nh, AppData: []byte("hi"), Time: when}, false, wire.ContextNone},
		{"ratchet path response", AnnounceOptions{NameHash: nh, Ratchet: r.PublicKey(), PathResponse: true, Time: when}, true, wire.ContextPathResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := id.NewAnnounce(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.ContextFlag != tc.flag || p.Context != tc.context || p.PacketType != wire.Announce {
				t.Fatalf("header %+v", p)
			}
			raw, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			q, err := wire.Unmarshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ValidateAnnounce(q)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := DestinationHash(id, "reticle", "test")
			if a.DestinationHash != want || !a.Emitted().Equal(when) || !bytes.Equal(a.AppData, tc.opts.AppData) ||
				!bytes.Equal(a.Ratchet, tc.opts.Ratchet) {
				t.Fatalf("validated announce differs: %+v", a)
			}
			// Any flipped byte after the header must fail validation.
			for i := wire.HeaderMinSize; i < len(raw); i += 7 {
				bad := bytes.Clone(raw)
				bad[i] ^= 0x01
				bp, err := wire.Unmarshal(bad)
				if err != nil {
					continue
				}
				if _, err := ValidateAnnounce(bp); err == nil {
					t.Fatalf("flipped byte %d still validates", i)
				}
			}
		})
	}
	p, _ := id.NewAnnounce(AnnounceOptions{NameHash: nh, Time: when})
	p.DestinationHash[0] ^= 1
	if _, err := ValidateAnnounce(p); !errors.Is(err, ErrSignature) {
		t.Errorf("changed destination: %v", err)
	}
	if _, err := id.NewAnnounce(AnnounceOptions{NameHash: nh, AppData: make([]byte, 400)}); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversized app data: %v", err)
	}
	if _, err := id.NewAnnounce(AnnounceOptions{NameHash: nh, Ratchet: []byte{1}}); !errors.Is(err, ErrKeyLength) {
		t.Errorf("bad ratchet: %v", err)
	}
}

func TestDestinationMismatch(t *testing.T) {
	// A correctly signed announce whose destination hash does not belong to
	// its name hash and identity: signature passes, full validation fails.
	id, _ := Generate()
	nh, _ := NameHash("reticle", "mismatch")
	a := &wire.AnnounceData{PublicKey: id.PublicKeyArray(), NameHash: nh}
	dest := wire.Hash{1, 2, 3}
	signed, _ := a.SignedData(dest)
	sig, _ := id.Sign(signed)
	copy(a.Signature[:], sig)
	data, _ := a.Marshal()
	p := &wire.Packet{PacketType: wire.Announce, DestinationHash: dest, Data: data}
	if _, err := VerifyAnnounceSignature(p); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if _, err := ValidateAnnounce(p); !errors.Is(err, ErrDestinationMismatch) {
		t.Fatalf("full validation: %v", err)
	}
}
