package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestPacketVectors(t *testing.T) {
	v := loadVectors(t)
	for _, pv := range v.Packets {
		t.Run(pv.Name, func(t *testing.T) {
			raw := unhex(t, pv.Raw)
			p, err := Unmarshal(raw)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if int(p.HeaderType) != pv.HeaderType || p.ContextFlag != (pv.ContextFlag == 1) ||
				int(p.TransportType) != pv.TransportType || int(p.DestinationType) != pv.DestinationType ||
				int(p.PacketType) != pv.PacketType || int(p.Hops) != pv.Hops || int(p.Context) != pv.Context {
				t.Fatalf("fields differ: got %+v, want %+v", p, pv)
			}
			if got := p.DestinationHash.String(); got != pv.DestinationHash {
				t.Errorf("destination %s, want %s", got, pv.DestinationHash)
			}
			wantTID := pv.TransportID
			if wantTID == "" {
				wantTID = Hash{}.String()
			}
			if got := p.TransportID.String(); got != wantTID {
				t.Errorf("transport id %s, want %s", got, wantTID)
			}
			if !bytes.Equal(p.Data, unhex(t, pv.Data)) {
				t.Errorf("data differs")
			}
			if got := p.Hash().String(); got != pv.PacketHash {
				t.Errorf("Hash %s, want %s", got, pv.PacketHash)
			}
			hr, err := HashRaw(raw)
			if err != nil || hr.String() != pv.PacketHash {
				t.Errorf("HashRaw %s (%v), want %s", hr, err, pv.PacketHash)
			}
			part, err := HashablePart(raw)
			if err != nil || !bytes.Equal(part, unhex(t, pv.HashablePart)) {
				t.Errorf("hashable part differs (%v)", err)
			}
			out, err := p.Marshal()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if !bytes.Equal(out, raw) {
				t.Fatalf("re-encoded\n%x\nwant\n%x", out, raw)
			}
		})
	}
}

func TestInvalidPacketVectors(t *testing.T) {
	v := loadVectors(t)
	for _, iv := range v.InvalidPackets {
		t.Run(iv.Name, func(t *testing.T) {
			if p, err := Unmarshal(unhex(t, iv.Raw)); err == nil {
				t.Fatalf("reference rejects this frame, we decoded %+v", p)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	dst := bytes.Repeat([]byte{0xAB}, TruncatedHashLen)
	h1 := append(append([]byte{0x00, 0x00}, dst...), 0x00, 'x')
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"nil", nil, ErrShortPacket},
		{"header only", h1[:HeaderMinSize], ErrEmptyData},
		{"short h1", h1[:HeaderMinSize-1], ErrShortPacket},
		{"ifac flag", append([]byte{0x80}, h1[1:]...), ErrIFACFlag},
		{"hops 128", append([]byte{0x00, 128}, h1[2:]...), ErrHops},
		{"short h2", append([]byte{0x40}, h1[1:]...), ErrShortPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal(tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	base := Packet{DestinationHash: Hash{1}, Data: []byte("x")}
	tests := []struct {
		name string
		mod  func(p *Packet)
		want error
	}{
		{"empty data", func(p *Packet) { p.Data = nil }, ErrEmptyData},
		{"hops", func(p *Packet) { p.Hops = MaxHops }, ErrHops},
		{"h1 with transport id", func(p *Packet) { p.TransportID = Hash{9} }, ErrTransportID},
		{"bad packet type", func(p *Packet) { p.PacketType = 4 }, ErrField},
		{"bad destination type", func(p *Packet) { p.DestinationType = 4 }, ErrField},
		{"bad header type", func(p *Packet) { p.HeaderType = 2 }, ErrField},
		{"over mtu", func(p *Packet) { p.Data = make([]byte, MTU-HeaderMinSize+1) }, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.mod(&p)
			if _, err := p.Marshal(); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	p := base
	p.Data = make([]byte, MTU-HeaderMinSize)
	if _, err := p.Marshal(); err != nil {
		t.Fatalf("packet of exactly MTU bytes: %v", err)
	}
	p.Data = make([]byte, 1000)
	if _, err := p.MarshalMTU(2000); err != nil {
		t.Fatalf("MarshalMTU above network MTU: %v", err)
	}
}

func TestFlagsLayout(t *testing.T) {
	p := Packet{HeaderType: Header2, ContextFlag: true, TransportType: Transport, DestinationType: Link, PacketType: Proof}
	if got := p.Flags(); got != 0x7F {
		t.Fatalf("flags %#x, want 0x7f", got)
	}
	p = Packet{DestinationType: Plain, PacketType: LinkRequest}
	if got := p.Flags(); got != 0x0A {
		t.Fatalf("flags %#x, want 0x0a", got)
	}
}

func TestHashIgnoresTransportFields(t *testing.T) {
	p := Packet{DestinationType: Single, PacketType: Data, DestinationHash: Hash{7}, Context: ContextRequest, Data: []byte("payload")}
	want := p.Hash()
	q := p
	q.HeaderType, q.TransportType, q.TransportID, q.Hops, q.ContextFlag = Header2, Transport, Hash{3}, 9, true
	if q.Hash() != want {
		t.Fatal("hash changed with header type, hops, transport id or context flag")
	}
	q.Context = ContextResponse
	if q.Hash() == want {
		t.Fatal("hash ignored the context byte")
	}
	raw, err := q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := HashRaw(raw); h != q.Hash() {
		t.Fatal("HashRaw and Hash disagree")
	}
}

func TestUnmarshalCopiesData(t *testing.T) {
	raw := append(append([]byte{0x00, 0x00}, make([]byte, TruncatedHashLen)...), 0x00, 1, 2, 3)
	p, err := Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] = 99
	if p.Data[2] != 3 {
		t.Fatal("packet data aliases the input buffer")
	}
}

func TestDestinationHashVectors(t *testing.T) {
	v := loadVectors(t)
	for _, d := range v.Destinations {
		var nh NameHash
		copy(nh[:], unhex(t, d.NameHash))
		var idh *Hash
		if d.Identity >= 0 {
			h, err := HashFromBytes(unhex(t, v.Identities[d.Identity].Hash))
			if err != nil {
				t.Fatal(err)
			}
			idh = &h
		}
		if got := DestinationHash(nh, idh).String(); got != d.Hash {
			t.Errorf("%s identity %d: %s, want %s", d.Name, d.Identity, got, d.Hash)
		}
	}
}

func TestLinkIDVectors(t *testing.T) {
	v := loadVectors(t)
	for i, lv := range v.LinkIDs {
		p, err := Unmarshal(unhex(t, lv.Packet))
		if err != nil {
			t.Fatal(err)
		}
		if got := LinkID(p).String(); got != lv.LinkID {
			t.Errorf("vector %d: link id %s, want %s", i, got, lv.LinkID)
		}
		if lv.Signalling == "" {
			continue
		}
		sig, err := LinkSignalling(lv.MTU, lv.Mode)
		if err != nil || !bytes.Equal(sig[:], unhex(t, lv.Signalling)) {
			t.Errorf("vector %d: signalling %x (%v), want %s", i, sig, err, lv.Signalling)
		}
		mtu, mode, err := ParseLinkSignalling(unhex(t, lv.Signalling))
		if err != nil || mtu != lv.MTU || mode != lv.Mode {
			t.Errorf("vector %d: parsed mtu %d mode %d (%v)", i, mtu, mode, err)
		}
	}
}

func TestHashHelpers(t *testing.T) {
	h, err := ParseHash("00112233445566778899aabbccddeeff")
	if err != nil || h.String() != "00112233445566778899aabbccddeeff" {
		t.Fatalf("ParseHash: %v %v", h, err)
	}
	if _, err := ParseHash("0011"); !errors.Is(err, ErrLength) {
		t.Fatalf("short hash: %v", err)
	}
	if _, err := ParseHash("zz"); err == nil {
		t.Fatal("bad hex accepted")
	}
	if (Hash{}).IsZero() != true || h.IsZero() {
		t.Fatal("IsZero wrong")
	}
}
