package transport

import (
	"errors"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// ProofStrategy says when received packets are proven
// (Destination.PROVE_NONE, PROVE_APP, PROVE_ALL).
type ProofStrategy int

// Proof strategies.
const (
	ProveNone ProofStrategy = iota
	ProveApp
	ProveAll
)

// Delivery is a packet received for a local destination, decrypted.
type Delivery struct {
	// Destination is the local destination hash.
	Destination wire.Hash
	// Data is the plaintext.
	Data []byte
	// PacketHash is the packet's hash (what a proof signs).
	PacketHash wire.FullHash
	// Hops is the number of hops the packet travelled.
	Hops uint8
	// Interface is the name of the receiving interface.
	Interface string
	// Context is the packet's context byte.
	Context wire.Context
}

// DestinationConfig describes a local IN destination: SINGLE (the
// default), GROUP or PLAIN (see group.go). Callbacks run outside the
// transport lock on the receiving interface's goroutine; they must not
// block for long.
type DestinationConfig struct {
	// Type is wire.Single (the zero value), wire.Group or wire.Plain.
	Type wire.DestinationType
	// Identity owns the destination. SINGLE needs one with a private key;
	// GROUP needs the identity all members share (its public key suffices,
	// a private key also lets it prove packets); PLAIN must have none.
	Identity *identity.Identity
	// GroupKey is a GROUP destination's symmetric key: 64 bytes (AES-256,
	// what identity.GenerateGroupKey and the reference's create_keys make)
	// or 32 bytes (AES-128), as Destination.load_private_key takes.
	GroupKey []byte
	// App and Aspects name the destination ("lxmf", "delivery").
	App     string
	Aspects []string
	// Proof selects when received packets are proven.
	Proof ProofStrategy
	// OnPacket receives decrypted packets.
	OnPacket func(Delivery)
	// ProofRequested decides for ProveApp whether to prove a packet.
	ProofRequested func(Delivery) bool
	// AppData returns the app data for announces and path responses; optional.
	AppData func() []byte
	// Ratchets enables ratchets (Destination.enable_ratchets): announces
	// carry the newest ratchet public key, rotated on announce once
	// RatchetInterval has passed, and inbound packets are decrypted with the
	// retained ratchets before the identity key.
	Ratchets bool
	// RatchetsPath is the file the ratchet ring persists in (0600). Empty
	// means Options.RatchetDir/<destination hash>, or memory only when
	// that is empty too.
	RatchetsPath string
	// EnforceRatchets refuses packets encrypted to the identity key
	// instead of a ratchet (Destination.enforce_ratchets).
	EnforceRatchets bool
	// RatchetInterval is the minimum time between rotations (default
	// DefaultRatchetInterval).
	RatchetInterval time.Duration
	// RetainedRatchets is how many ratchets are kept (default
	// DefaultRatchetCount).
	RetainedRatchets int
}

// Destination is a registered local destination.
type Destination struct {
	cfg      DestinationConfig
	typ      wire.DestinationType
	hash     wire.Hash
	nameHash wire.NameHash
	ring     *ratchetRing    // nil without ratchets
	token    *identity.Token // GROUP only
}

// Hash returns the destination hash.
func (d *Destination) Hash() wire.Hash { return d.hash }

// NameHash returns the destination's name hash.
func (d *Destination) NameHash() wire.NameHash { return d.nameHash }

// Identity returns the destination's identity (nil for PLAIN).
func (d *Destination) Identity() *identity.Identity { return d.cfg.Identity }

// Register adds a local destination; DATA packets to it are delivered
// (decrypted for SINGLE and GROUP) to cfg.OnPacket, and path requests for
// a SINGLE destination are answered.
func (t *Transport) Register(cfg DestinationConfig) (*Destination, error) {
	var d *Destination
	if cfg.Type != wire.Single {
		var err error
		if d, err = newGroupOrPlain(cfg); err != nil {
			return nil, fmt.Errorf("register destination: %w", err)
		}
	} else {
		if cfg.Identity == nil || !cfg.Identity.HasPrivateKey() {
			return nil, fmt.Errorf("register destination: %w", ErrNoIdentity)
		}
		nh, err := identity.NameHash(cfg.App, cfg.Aspects...)
		if err != nil {
			return nil, fmt.Errorf("register destination: %w", err)
		}
		idh := cfg.Identity.Hash()
		d = &Destination{cfg: cfg, typ: wire.Single, hash: wire.DestinationHash(nh, &idh), nameHash: nh}
		if cfg.Ratchets {
			d.ring = t.openRatchets(d)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.dests[d.hash]; ok {
		return nil, fmt.Errorf("register destination %s: %w", d.hash, ErrDuplicateDestination)
	}
	t.dests[d.hash] = d
	return d, nil
}

// Deregister removes a local destination.
func (t *Transport) Deregister(d *Destination) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dests[d.hash] == d {
		delete(t.dests, d.hash)
	}
}

// Announce broadcasts an announce for a local destination on all
// interfaces. appData nil uses the destination's AppData callback. GROUP
// and PLAIN destinations cannot be announced (ErrNotAnnounceable).
func (t *Transport) Announce(d *Destination, appData []byte) error {
	return t.announce(d, appData, false, nil)
}

func (t *Transport) announce(d *Destination, appData []byte, pathResponse bool, via iface.Interface) error {
	if d.typ != wire.Single {
		return fmt.Errorf("announce %s: %w", d.hash, ErrNotAnnounceable)
	}
	if appData == nil && d.cfg.AppData != nil {
		appData = d.cfg.AppData()
	}
	var ratchet []byte
	if d.ring != nil {
		var err error
		if ratchet, err = d.ring.current(t.clock.Now()); err != nil {
			return fmt.Errorf("announce %s: %w", d.hash, err)
		}
	}
	p, err := d.cfg.Identity.NewAnnounce(identity.AnnounceOptions{
		NameHash: d.nameHash, AppData: appData, Ratchet: ratchet, PathResponse: pathResponse, Time: t.clock.Now(),
	})
	if err != nil {
		return fmt.Errorf("announce %s: %w", d.hash, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var st *ifState
	if via != nil {
		if st = t.ifs[via]; st == nil {
			return fmt.Errorf("announce %s: %w", d.hash, ErrNotSent)
		}
	}
	ok, err := t.outbound(p, st, t.clock.Now())
	if err != nil {
		return fmt.Errorf("announce %s: %w", d.hash, err)
	}
	if !ok {
		return fmt.Errorf("announce %s: %w", d.hash, ErrNotSent)
	}
	if pathResponse {
		t.stats.PathResponsesSent++
	}
	return nil
}

// SendOptions tune Send.
type SendOptions struct {
	// Context is the packet context (default ContextNone).
	Context wire.Context
	// NoReceipt skips creating a receipt.
	NoReceipt bool
	// OnConclude runs when the receipt is delivered, failed or culled, on a
	// transport goroutine; it must not block for long.
	OnConclude func(*Receipt)
}

// Send encrypts plaintext to a SINGLE destination whose identity is known
// from an announce and sends it in one packet. It returns the receipt
// (nil with NoReceipt).
func (t *Transport) Send(dest wire.Hash, plaintext []byte, o SendOptions) (*Receipt, error) {
	if len(plaintext) > wire.EncryptedMDU {
		return nil, fmt.Errorf("send to %s: %d bytes: %w", dest, len(plaintext), ErrTooLarge)
	}
	t.mu.Lock()
	k := t.known[dest]
	t.mu.Unlock()
	if k == nil {
		return nil, fmt.Errorf("send to %s: %w", dest, ErrUnknownDestination)
	}
	ct, err := k.id.Encrypt(plaintext, k.ratchet)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", dest, err)
	}
	p := &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: wire.Single,
		PacketType: wire.Data, DestinationHash: dest, Context: o.Context, Data: ct,
	}
	var fx effects
	defer func() { fx.run() }()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	ok, err := t.outbound(p, nil, now)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", dest, err)
	}
	if !ok {
		return nil, fmt.Errorf("send to %s: %w", dest, ErrNotSent)
	}
	if o.NoReceipt {
		return nil, nil
	}
	return t.newReceipt(p.Hash(), dest, k.id, now, o.OnConclude, &fx), nil
}

// deliver decrypts a packet for a local destination and schedules the
// handler and the proof. Called with t.mu held.
func (t *Transport) deliver(st *ifState, d *Destination, p *wire.Packet, hash wire.FullHash, fx *effects) {
	pt, err := d.open(p.Data)
	if err != nil {
		st.violations++
		t.log.Debug("undecryptable packet for local destination", "destination", d.hash.String(), "error", err)
		return
	}
	t.stats.Delivered++
	dl := Delivery{Destination: d.hash, Data: pt, PacketHash: hash, Hops: p.Hops, Interface: st.i.Name(), Context: p.Context}
	i := st.i
	cfg := d.cfg
	canProve := d.canProve()
	fx.add(func() {
		if cfg.OnPacket != nil {
			cfg.OnPacket(dl)
		}
		prove := cfg.Proof == ProveAll || (cfg.Proof == ProveApp && cfg.ProofRequested != nil && cfg.ProofRequested(dl))
		if prove && canProve {
			if err := t.prove(cfg.Identity, hash, i); err != nil && !errors.Is(err, ErrNotSent) {
				t.log.Warn("sending proof failed", "destination", dl.Destination.String(), "error", err)
			}
		}
	})
}

// prove sends an implicit proof (the signature of the packet hash) back on
// the receiving interface, addressed to the truncated packet hash
// (Identity.prove with use_implicit_proof, the reference default).
func (t *Transport) prove(id *identity.Identity, hash wire.FullHash, via iface.Interface) error {
	sig, err := id.Sign(hash[:])
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	p := &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: wire.Single,
		PacketType: wire.Proof, DestinationHash: hash.Truncated(), Context: wire.ContextNone, Data: sig,
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.ifs[via]
	if st == nil {
		return fmt.Errorf("prove: interface gone: %w", ErrNotSent)
	}
	if ok, err := t.outbound(p, st, t.clock.Now()); err != nil || !ok {
		return fmt.Errorf("prove: %w", errors.Join(err, ErrNotSent))
	}
	return nil
}

// Remember stores the identity behind a destination without an announce,
// for example one restored from the application's database, so Send works
// before the next announce. A different key for a known destination is
// refused with ErrDuplicateDestination.
func (t *Transport) Remember(dest wire.Hash, id *identity.Identity, appData []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := &identity.Announce{DestinationHash: dest, Identity: id, AppData: appData}
	if !t.remember(dest, a, t.clock.Now()) {
		return fmt.Errorf("remember %s: %w", dest, ErrDuplicateDestination)
	}
	return nil
}

// Recall returns the identity and last app data announced for a
// destination. Like the reference's Identity.recall it falls back to the
// locally registered destinations: for those it returns the public part
// of the destination's identity and nil app data. A PLAIN destination has
// no identity and is not recalled.
func (t *Transport) Recall(dest wire.Hash) (*identity.Identity, []byte, bool) {
	t.mu.Lock()
	var (
		id      *identity.Identity
		appData []byte
	)
	k := t.known[dest]
	if k != nil {
		// Copied under the lock: a new announce replaces appData in place (remember).
		id, appData = k.id, append([]byte(nil), k.appData...)
	}
	d := t.dests[dest]
	t.mu.Unlock()
	if k != nil {
		return id, appData, true
	}
	if d == nil || d.cfg.Identity == nil {
		return nil, nil, false
	}
	pub, err := identity.FromPublicKey(d.cfg.Identity.PublicKey())
	if err != nil {
		return nil, nil, false
	}
	return pub, nil, true
}

// PathInfo describes one path table entry.
type PathInfo struct {
	Destination wire.Hash
	NextHop     wire.Hash
	Hops        uint8
	Interface   string
	Updated     time.Time
	Expires     time.Time
}

// Path returns the path to dest, if known.
func (t *Transport) Path(dest wire.Hash) (PathInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pe := t.paths[dest]
	if pe == nil {
		return PathInfo{}, false
	}
	return pathInfo(dest, pe), true
}

// HasPath reports whether a path to dest is known.
func (t *Transport) HasPath(dest wire.Hash) bool {
	_, ok := t.Path(dest)
	return ok
}

// Paths returns all known paths.
func (t *Transport) Paths() []PathInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PathInfo, 0, len(t.paths))
	for h, pe := range t.paths {
		out = append(out, pathInfo(h, pe))
	}
	return out
}

func pathInfo(h wire.Hash, pe *pathEntry) PathInfo {
	return PathInfo{Destination: h, NextHop: pe.nextHop, Hops: pe.hops, Interface: pe.st.i.Name(), Updated: pe.updated, Expires: pe.expires}
}
