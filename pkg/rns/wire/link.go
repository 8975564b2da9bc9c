package wire

import (
	"crypto/sha256"
	"fmt"
)

// Link request sizes (RNS/Link.py).
const (
	// LinkECPubSize is the size of a link request's key material: X25519
	// public key (32) and Ed25519 public key (32).
	LinkECPubSize = 64
	// LinkMTUSize is the size of the optional MTU signalling bytes.
	LinkMTUSize = 3
	// linkMTUMask selects the 21 MTU bits of the signalling value.
	linkMTUMask = 0x1FFFFF
	// linkModeMask selects the 3 mode bits of the first signalling byte.
	linkModeMask = 0xE0
)

// LinkID returns the link id for a link request packet
// (Link.link_id_from_lr_packet): the truncated hash of the packet's hashable
// part, leaving out any data beyond the 64 key bytes (the MTU signalling
// bytes), so signalling does not change the id.
func LinkID(p *Packet) Hash {
	data := p.Data
	if len(data) > LinkECPubSize {
		data = data[:LinkECPubSize]
	}
	h := sha256.New()
	var hdr [1 + TruncatedHashLen + 1]byte
	hdr[0] = p.Flags() & MaskHashable
	copy(hdr[1:], p.DestinationHash[:])
	hdr[1+TruncatedHashLen] = byte(p.Context)
	h.Write(hdr[:])
	h.Write(data)
	var full FullHash
	h.Sum(full[:0])
	return full.Truncated()
}

// LinkSignalling encodes a link MTU and mode into the 3 signalling bytes
// (Link.signalling_bytes): the mode in the top 3 bits, the MTU in the low 21.
func LinkSignalling(mtu int, mode uint8) ([LinkMTUSize]byte, error) {
	var out [LinkMTUSize]byte
	if mtu < 0 || mtu > linkMTUMask {
		return out, fmt.Errorf("link mtu %d: %w", mtu, ErrField)
	}
	if mode > 7 {
		return out, fmt.Errorf("link mode %d: %w", mode, ErrField)
	}
	v := uint32(mtu) | uint32(mode)<<21
	out[0], out[1], out[2] = byte(v>>16), byte(v>>8), byte(v)
	return out, nil
}

// ParseLinkSignalling decodes 3 signalling bytes into MTU and mode.
func ParseLinkSignalling(b []byte) (mtu int, mode uint8, err error) {
	if len(b) != LinkMTUSize {
		return 0, 0, fmt.Errorf("link signalling of %d bytes: %w", len(b), ErrLength)
	}
	v := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	return int(v & linkMTUMask), uint8(b[0]&linkModeMask) >> 5, nil
}
