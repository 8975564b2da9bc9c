package wire

import (
	"crypto/sha256"
	"fmt"
)

// Packet is a decoded Reticulum packet header plus its data, laid out as
// RNS/Packet.py pack and unpack do it:
//
//	HEADER_1: flags(1) hops(1) destination(16) context(1) data
//	HEADER_2: flags(1) hops(1) transport_id(16) destination(16) context(1) data
//
// The flags byte is, from the top bit down: IFAC flag, header type, context
// flag, transport type, destination type (2 bits), packet type (2 bits). The
// IFAC flag is not part of Packet: interface access codes are applied after
// Marshal and removed before Unmarshal (see identity.IFAC).
//
// Data is the payload as it travels: ciphertext for encrypted packets. For a
// link request proof (context LRPROOF) the reference puts the link id in the
// destination field and LINK in the destination type; callers set both.
type Packet struct {
	HeaderType      HeaderType
	ContextFlag     bool
	TransportType   TransportType
	DestinationType DestinationType
	PacketType      PacketType
	Hops            uint8
	// TransportID is the next-hop transport identity hash; only HEADER_2
	// packets carry it, and it must be zero for HEADER_1.
	TransportID     Hash
	DestinationHash Hash
	Context         Context
	Data            []byte
}

// Flags returns the packed flags byte (without the IFAC bit), as
// Packet.get_packed_flags computes it.
func (p *Packet) Flags() byte {
	f := byte(p.HeaderType&1)<<6 | byte(p.TransportType&1)<<4 |
		byte(p.DestinationType&3)<<2 | byte(p.PacketType&3)
	if p.ContextFlag {
		f |= FlagContext
	}
	return f
}

// HeaderLen returns the header size for the packet's header type.
func (p *Packet) HeaderLen() int {
	if p.HeaderType == Header2 {
		return HeaderMaxSize
	}
	return HeaderMinSize
}

// Size returns the marshalled size of the packet in bytes.
func (p *Packet) Size() int { return p.HeaderLen() + len(p.Data) }

func (p *Packet) check() error {
	if p.HeaderType > Header2 || p.TransportType > Transport ||
		p.DestinationType > Link || p.PacketType > Proof {
		return fmt.Errorf("flags: %w", ErrField)
	}
	if p.Hops >= MaxHops {
		return fmt.Errorf("hops %d: %w", p.Hops, ErrHops)
	}
	if p.HeaderType == Header1 && !p.TransportID.IsZero() {
		return fmt.Errorf("header type 1 with transport id: %w", ErrTransportID)
	}
	if len(p.Data) == 0 {
		return ErrEmptyData
	}
	return nil
}

// Marshal encodes the packet and checks it against the network MTU.
func (p *Packet) Marshal() ([]byte, error) { return p.MarshalMTU(MTU) }

// MarshalMTU encodes the packet and checks it against mtu, for links whose
// MTU was negotiated above the network default.
func (p *Packet) MarshalMTU(mtu int) ([]byte, error) {
	return p.AppendMarshal(make([]byte, 0, p.Size()), mtu)
}

// AppendMarshal appends the encoded packet to dst, checking it against mtu.
func (p *Packet) AppendMarshal(dst []byte, mtu int) ([]byte, error) {
	if err := p.check(); err != nil {
		return dst, fmt.Errorf("marshal packet: %w", err)
	}
	if n := p.Size(); n > mtu {
		return dst, fmt.Errorf("marshal packet: %d bytes over mtu %d: %w", n, mtu, ErrTooLarge)
	}
	dst = append(dst, p.Flags(), p.Hops)
	if p.HeaderType == Header2 {
		dst = append(dst, p.TransportID[:]...)
	}
	dst = append(dst, p.DestinationHash[:]...)
	dst = append(dst, byte(p.Context))
	return append(dst, p.Data...), nil
}

// Unmarshal decodes a packet from raw, as Packet.unpack does, with the same
// rejections: hop count of MaxHops or more, a short header, empty data. It
// also rejects a set IFAC flag (remove the access code first). No MTU check
// is made: the receiving interface enforces its hardware MTU. Data is copied,
// so raw may be reused by the caller.
func Unmarshal(raw []byte) (*Packet, error) {
	p := new(Packet)
	if err := p.UnmarshalBinary(raw); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalBinary decodes raw into p; see Unmarshal.
func (p *Packet) UnmarshalBinary(raw []byte) error {
	if len(raw) < HeaderMinSize {
		return fmt.Errorf("unmarshal packet: %d bytes: %w", len(raw), ErrShortPacket)
	}
	flags := raw[0]
	if flags&FlagIFAC != 0 {
		return fmt.Errorf("unmarshal packet: %w", ErrIFACFlag)
	}
	if raw[1] >= MaxHops {
		return fmt.Errorf("unmarshal packet: hops %d: %w", raw[1], ErrHops)
	}
	q := Packet{
		HeaderType:      HeaderType(flags >> 6 & 1),
		ContextFlag:     flags&FlagContext != 0,
		TransportType:   TransportType(flags >> 4 & 1),
		DestinationType: DestinationType(flags >> 2 & 3),
		PacketType:      PacketType(flags & 3),
		Hops:            raw[1],
	}
	off := 2
	if q.HeaderType == Header2 {
		if len(raw) < HeaderMaxSize {
			return fmt.Errorf("unmarshal packet: header type 2 in %d bytes: %w", len(raw), ErrShortPacket)
		}
		copy(q.TransportID[:], raw[off:off+TruncatedHashLen])
		off += TruncatedHashLen
	}
	copy(q.DestinationHash[:], raw[off:off+TruncatedHashLen])
	off += TruncatedHashLen
	q.Context = Context(raw[off])
	off++
	if off == len(raw) {
		return fmt.Errorf("unmarshal packet: %w", ErrEmptyData)
	}
	q.Data = append([]byte(nil), raw[off:]...)
	*p = q
	return nil
}

// MarshalBinary encodes the packet with the network MTU (encoding.BinaryMarshaler).
func (p *Packet) MarshalBinary() ([]byte, error) { return p.Marshal() }

// Hash returns the packet hash: SHA-256 of the hashable part, which is the
// flags byte masked to destination and packet type, then the destination
// hash, context and data (Packet.get_hashable_part). Hops, header type,
// context flag, transport type and transport id do not enter it, so a packet
// keeps its hash while it travels.
func (p *Packet) Hash() FullHash {
	h := sha256.New()
	var hdr [1 + TruncatedHashLen + 1]byte
	hdr[0] = p.Flags() & MaskHashable
	copy(hdr[1:], p.DestinationHash[:])
	hdr[1+TruncatedHashLen] = byte(p.Context)
	h.Write(hdr[:])
	h.Write(p.Data)
	var out FullHash
	h.Sum(out[:0])
	return out
}

// HashablePart returns the part of a raw packet that its hash covers
// (Packet.get_hashable_part): the flags byte masked with MaskHashable,
// followed by everything after the hops byte (HEADER_1) or after the
// transport id (HEADER_2).
func HashablePart(raw []byte) ([]byte, error) {
	if len(raw) < HeaderMinSize {
		return nil, fmt.Errorf("hashable part: %d bytes: %w", len(raw), ErrShortPacket)
	}
	skip := 2
	if raw[0]&FlagHeader2 != 0 {
		if len(raw) < HeaderMaxSize {
			return nil, fmt.Errorf("hashable part: header type 2 in %d bytes: %w", len(raw), ErrShortPacket)
		}
		skip = 2 + TruncatedHashLen
	}
	out := make([]byte, 0, 1+len(raw)-skip)
	out = append(out, raw[0]&MaskHashable)
	return append(out, raw[skip:]...), nil
}

// HashRaw returns the packet hash of a raw packet (Packet.get_hash).
func HashRaw(raw []byte) (FullHash, error) {
	part, err := HashablePart(raw)
	if err != nil {
		return FullHash{}, err
	}
	return SHA256(part), nil
}
