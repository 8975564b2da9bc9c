package identity

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// AnnounceOptions describe an announce to build with Identity.NewAnnounce.
type AnnounceOptions struct {
	// NameHash is the destination's name hash (see NameHash).
	NameHash wire.NameHash
	// AppData is appended after the signature; nil for none.
	AppData []byte
	// Ratchet is the 32-byte public key of the destination's current
	// ratchet, or nil. When set, the packet's context flag is set.
	Ratchet []byte
	// PathResponse sets context PATH_RESPONSE instead of NONE.
	PathResponse bool
	// Time is the emission time written into the random hash; the zero
	// value means time.Now().
	Time time.Time
	// Random, when not nil, supplies the 5 random bytes that open the
	// random hash (for reproducible tests); nil draws them from crypto/rand.
	Random []byte
}

// NewAnnounce builds a signed announce packet for the SINGLE destination of
// this identity with the given name hash (Destination.announce with
// send=False): HEADER_1, BROADCAST, SINGLE, ANNOUNCE, hops 0. The signature
// covers destination_hash || public_key || name_hash || random_hash ||
// ratchet || app_data.
func (id *Identity) NewAnnounce(o AnnounceOptions) (*wire.Packet, error) {
	if id.sigPriv == nil {
		return nil, fmt.Errorf("announce: %w", ErrNoPrivateKey)
	}
	if o.Ratchet != nil && len(o.Ratchet) != wire.RatchetLen {
		return nil, fmt.Errorf("announce: ratchet of %d bytes: %w", len(o.Ratchet), ErrKeyLength)
	}
	t := o.Time
	if t.IsZero() {
		t = time.Now()
	}
	var random [5]byte
	switch {
	case o.Random == nil:
		if _, err := rand.Read(random[:]); err != nil {
			return nil, fmt.Errorf("announce: random: %w", err)
		}
	case len(o.Random) == len(random):
		copy(random[:], o.Random)
	default:
		return nil, fmt.Errorf("announce: %d random bytes, want 5: %w", len(o.Random), ErrKeyLength)
	}
	h := id.hash
	dest := wire.DestinationHash(o.NameHash, &h)
	a := &wire.AnnounceData{
		PublicKey:  id.pub,
		NameHash:   o.NameHash,
		RandomHash: wire.NewRandomHash(random, t),
		Ratchet:    o.Ratchet,
		AppData:    o.AppData,
	}
	signed, err := a.SignedData(dest)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	sig, err := id.Sign(signed)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	copy(a.Signature[:], sig)
	data, err := a.Marshal()
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	ctx := wire.ContextNone
	if o.PathResponse {
		ctx = wire.ContextPathResponse
	}
	p := &wire.Packet{
		HeaderType:      wire.Header1,
		ContextFlag:     a.HasRatchet(),
		TransportType:   wire.Broadcast,
		DestinationType: wire.Single,
		PacketType:      wire.Announce,
		DestinationHash: dest,
		Context:         ctx,
		Data:            data,
	}
	if p.Size() > wire.MTU {
		return nil, fmt.Errorf("announce: %d bytes: %w", p.Size(), wire.ErrTooLarge)
	}
	return p, nil
}

// Announce is a validated announce.
type Announce struct {
	// DestinationHash is the announced destination.
	DestinationHash wire.Hash
	// Identity is the announcing identity (public key only).
	Identity *Identity
	// NameHash is the destination's name hash.
	NameHash wire.NameHash
	// RandomHash holds 5 random bytes and the 5-byte emission time.
	RandomHash [wire.RandomHashLen]byte
	// Ratchet is the announced ratchet public key, or nil.
	Ratchet []byte
	// AppData is the application data, or nil.
	AppData []byte
	// Signature is the announce signature.
	Signature [wire.SignatureLen]byte
}

// Emitted returns the emission time from the random hash
// (Transport.timebase_from_random_blob).
func (a *Announce) Emitted() time.Time { return wire.RandomHashTime(a.RandomHash) }

// VerifyAnnounceSignature parses an announce packet and checks its signature
// only (Identity.validate_announce with only_validate_signature=True); the
// destination hash is not checked. Use ValidateAnnounce for the full check.
func VerifyAnnounceSignature(p *wire.Packet) (*Announce, error) {
	d, err := wire.ParseAnnouncePacket(p)
	if err != nil {
		return nil, fmt.Errorf("validate announce: %w", err)
	}
	id, err := FromPublicKey(d.PublicKey[:])
	if err != nil {
		return nil, fmt.Errorf("validate announce: %w", err)
	}
	signed, err := d.SignedData(p.DestinationHash)
	if err != nil {
		return nil, fmt.Errorf("validate announce: %w", err)
	}
	if !id.Verify(d.Signature[:], signed) {
		return nil, fmt.Errorf("validate announce %s: %w", p.DestinationHash, ErrSignature)
	}
	return &Announce{
		DestinationHash: p.DestinationHash,
		Identity:        id,
		NameHash:        d.NameHash,
		RandomHash:      d.RandomHash,
		Ratchet:         d.Ratchet,
		AppData:         d.AppData,
		Signature:       d.Signature,
	}, nil
}

// ValidateAnnounce checks an announce packet as Identity.validate_announce
// does: the signature must verify and the destination hash must equal the
// truncated SHA-256 of name_hash || identity_hash. It does not consult any
// table of known destinations; checking that a known destination keeps its
// public key is the caller's job.
func ValidateAnnounce(p *wire.Packet) (*Announce, error) {
	a, err := VerifyAnnounceSignature(p)
	if err != nil {
		return nil, err
	}
	h := a.Identity.hash
	if wire.DestinationHash(a.NameHash, &h) != p.DestinationHash {
		return nil, fmt.Errorf("validate announce %s: %w", p.DestinationHash, ErrDestinationMismatch)
	}
	return a, nil
}
