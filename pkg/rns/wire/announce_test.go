package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestAnnounceVectors(t *testing.T) {
	v := loadVectors(t)
	for i, av := range v.Announces {
		raw := unhex(t, av.Packet)
		p, err := Unmarshal(raw)
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		if p.Hash().String() != av.PacketHash {
			t.Errorf("announce %d: packet hash differs", i)
		}
		a, err := ParseAnnouncePacket(p)
		if err != nil {
			t.Fatalf("announce %d: %v", i, err)
		}
		if p.ContextFlag != (av.ContextFlag == 1) || a.HasRatchet() != p.ContextFlag {
			t.Errorf("announce %d: ratchet presence %v, context flag %v", i, a.HasRatchet(), p.ContextFlag)
		}
		if !bytes.Equal(a.Ratchet, unhex(t, av.RatchetPublic)) {
			t.Errorf("announce %d: ratchet %x, want %s", i, a.Ratchet, av.RatchetPublic)
		}
		if !bytes.Equal(a.AppData, unhex(t, av.AppData)) {
			t.Errorf("announce %d: app data %x, want %s", i, a.AppData, av.AppData)
		}
		if a.NameHash.String() != av.NameHash || !bytes.Equal(a.RandomHash[:], unhex(t, av.RandomHash)) {
			t.Errorf("announce %d: name hash or random hash differs", i)
		}
		if got := a.Emitted().Unix(); got != av.Timestamp {
			t.Errorf("announce %d: emitted %d, want %d", i, got, av.Timestamp)
		}
		if want := av.PathResponse; (p.Context == ContextPathResponse) != want {
			t.Errorf("announce %d: context %#x, path response %v", i, p.Context, want)
		}
		data, err := a.Marshal()
		if err != nil || !bytes.Equal(data, p.Data) {
			t.Errorf("announce %d: re-encoded payload differs (%v)", i, err)
		}
		signed, err := a.SignedData(p.DestinationHash)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := TruncatedHashLen + PublicKeyLen + NameHashLen + RandomHashLen + len(a.Ratchet) + len(a.AppData)
		if len(signed) != wantLen || !bytes.Equal(signed[:TruncatedHashLen], p.DestinationHash[:]) {
			t.Errorf("announce %d: signed data layout wrong", i)
		}
	}
}

func TestParseAnnounceErrors(t *testing.T) {
	if _, err := ParseAnnounce(make([]byte, AnnounceMinSize-1), false); !errors.Is(err, ErrShortAnnounce) {
		t.Fatalf("short announce: %v", err)
	}
	if _, err := ParseAnnounce(make([]byte, AnnounceMinSize+10), true); !errors.Is(err, ErrShortAnnounce) {
		t.Fatalf("short ratchet announce: %v", err)
	}
	a, err := ParseAnnounce(make([]byte, AnnounceMinSize), false)
	if err != nil || a.AppData != nil || a.Ratchet != nil {
		t.Fatalf("minimal announce: %+v %v", a, err)
	}
	if _, err := ParseAnnouncePacket(&Packet{PacketType: Data, Data: make([]byte, 200)}); !errors.Is(err, ErrNotAnnounce) {
		t.Fatalf("data packet: %v", err)
	}
	a.Ratchet = []byte{1, 2, 3}
	if _, err := a.Marshal(); !errors.Is(err, ErrLength) {
		t.Fatalf("bad ratchet length: %v", err)
	}
}

func TestRandomHash(t *testing.T) {
	ts := time.Unix(1_700_000_123, 999)
	r := NewRandomHash([5]byte{1, 2, 3, 4, 5}, ts)
	want := []byte{1, 2, 3, 4, 5, 0x00, 0x65, 0x53, 0xf1, 0x7b}
	if !bytes.Equal(r[:], want) {
		t.Fatalf("random hash %x, want %x", r, want)
	}
	if got := RandomHashTime(r); got.Unix() != 1_700_000_123 {
		t.Fatalf("time %v", got)
	}
	if r := NewRandomHash([5]byte{}, time.Unix(-5, 0)); RandomHashTimestamp(r) != 0 {
		t.Fatal("negative time not clamped")
	}
}
