package transport

import (
	"errors"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// GROUP and PLAIN destinations (RNS/Destination.py).
//
// A GROUP destination is named like a SINGLE one (name hash of app and
// aspects plus the hash of an identity every member knows) and its traffic
// is a Token under a symmetric key all members share
// (Destination.create_keys / load_private_key). A PLAIN destination has no
// identity (its hash covers the name only) and its traffic is not
// encrypted. Neither can be announced, and packets to either are never
// routed by path: the sender broadcasts them on every interface and
// transport nodes do not carry them further than one hop
// (Transport.packet_filter, Transport._outbound).

var (
	// ErrNotAnnounceable means Announce was called on a GROUP or PLAIN
	// destination; the reference only announces SINGLE destinations.
	ErrNotAnnounceable = errors.New("only single destinations can be announced")
	// ErrDestinationConfig means a DestinationConfig does not fit its
	// type: a PLAIN destination with an identity, a GROUP destination
	// without an identity or a valid key, ratchets on a non-SINGLE
	// destination, or an unsupported type.
	ErrDestinationConfig = errors.New("invalid destination config")
)

// Type returns the destination type (wire.Single, wire.Group or wire.Plain).
func (d *Destination) Type() wire.DestinationType { return d.typ }

// newGroupOrPlain validates cfg for a GROUP or PLAIN destination and builds
// it. The identity of a GROUP destination only contributes its hash unless
// it holds a private key, which is then used to prove packets as Proof
// asks (Packet.prove in the reference); a PLAIN destination never proves.
func newGroupOrPlain(cfg DestinationConfig) (*Destination, error) {
	if cfg.Ratchets || cfg.EnforceRatchets {
		return nil, fmt.Errorf("ratchets on a non-single destination: %w", ErrDestinationConfig)
	}
	nh, err := identity.NameHash(cfg.App, cfg.Aspects...)
	if err != nil {
		return nil, err
	}
	switch cfg.Type {
	case wire.Group:
		if cfg.Identity == nil {
			return nil, fmt.Errorf("group destination without identity: %w", ErrDestinationConfig)
		}
		tok, err := identity.NewToken(cfg.GroupKey)
		if err != nil {
			return nil, fmt.Errorf("group key: %w: %w", ErrDestinationConfig, err)
		}
		cfg.GroupKey = append([]byte(nil), cfg.GroupKey...)
		idh := cfg.Identity.Hash()
		return &Destination{cfg: cfg, typ: wire.Group, hash: wire.DestinationHash(nh, &idh), nameHash: nh, token: tok}, nil
	case wire.Plain:
		if cfg.Identity != nil {
			return nil, fmt.Errorf("plain destination with identity: %w", ErrDestinationConfig)
		}
		if len(cfg.GroupKey) != 0 {
			return nil, fmt.Errorf("plain destination with group key: %w", ErrDestinationConfig)
		}
		cfg.Proof = ProveNone
		return &Destination{cfg: cfg, typ: wire.Plain, hash: wire.DestinationHash(nh, nil), nameHash: nh}, nil
	default:
		return nil, fmt.Errorf("destination type %d: %w", cfg.Type, ErrDestinationConfig)
	}
}

// open returns the plaintext of a DATA packet's payload for d: decrypted
// with the ratchets or identity for SINGLE, with the group key for GROUP,
// as received for PLAIN.
func (d *Destination) open(data []byte) ([]byte, error) {
	switch d.typ {
	case wire.Plain:
		return append([]byte(nil), data...), nil
	case wire.Group:
		return d.token.Decrypt(data)
	}
	if d.ring != nil {
		return d.ring.decrypt(data)
	}
	return d.cfg.Identity.Decrypt(data)
}

// canProve reports whether d holds a key to prove packets with.
func (d *Destination) canProve() bool {
	return d.typ != wire.Plain && d.cfg.Identity != nil && d.cfg.Identity.HasPrivateKey()
}

// GroupKeyLen is the length of the key GenerateGroupKey returns and
// Destination.create_keys makes (AES-256 token). A 32-byte key (AES-128)
// is accepted too.
const GroupKeyLen = identity.TokenKeyLen

// maxGroupPlaintext is the largest plaintext whose token fits a HEADER_1
// packet within the MTU (the reference packs and checks the raw size).
func maxGroupPlaintext() int {
	n := 0
	for identity.TokenSize(n+1) <= wire.MTU-wire.HeaderMinSize {
		n++
	}
	return n
}

// SendGroup encrypts plaintext with a GROUP destination's shared key
// (64 or 32 bytes) and broadcasts it to dest on every interface that is up,
// as the reference sends to an OUT GROUP destination. dest is the group's
// hash (identity.DestinationHash with the group identity). Only o.Context
// is used: no receipt is kept, since a proof would need the group
// identity's private key and group members do not prove by default.
func (t *Transport) SendGroup(dest wire.Hash, key, plaintext []byte, o SendOptions) error {
	tok, err := identity.NewToken(key)
	if err != nil {
		return fmt.Errorf("send to group %s: %w", dest, err)
	}
	if len(plaintext) > maxGroupPlaintext() {
		return fmt.Errorf("send to group %s: %d bytes: %w", dest, len(plaintext), ErrTooLarge)
	}
	ct, err := tok.Encrypt(plaintext)
	if err != nil {
		return fmt.Errorf("send to group %s: %w", dest, err)
	}
	return t.broadcast(wire.Group, dest, ct, o.Context)
}

// SendPlain broadcasts plaintext unencrypted to the PLAIN destination dest
// (identity.DestinationHash with a nil identity) on every interface that is
// up. Only o.Context is used: PLAIN packets never get receipts.
func (t *Transport) SendPlain(dest wire.Hash, plaintext []byte, o SendOptions) error {
	if len(plaintext) > wire.PlainMDU {
		return fmt.Errorf("send to plain %s: %d bytes: %w", dest, len(plaintext), ErrTooLarge)
	}
	return t.broadcast(wire.Plain, dest, append([]byte(nil), plaintext...), o.Context)
}

func (t *Transport) broadcast(typ wire.DestinationType, dest wire.Hash, data []byte, ctx wire.Context) error {
	p := &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: typ,
		PacketType: wire.Data, DestinationHash: dest, Context: ctx, Data: data,
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, err := t.outbound(p, nil, t.clock.Now())
	if err != nil {
		return fmt.Errorf("send to %s: %w", dest, err)
	}
	if !ok {
		return fmt.Errorf("send to %s: %w", dest, ErrNotSent)
	}
	return nil
}
