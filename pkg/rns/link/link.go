package link

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Link timing constants (RNS/Link.py).
const (
	establishmentPerHop    = 6 * time.Second // ESTABLISHMENT_TIMEOUT_PER_HOP
	keepaliveMax           = 360 * time.Second
	keepaliveMin           = 5 * time.Second
	keepaliveMaxRTT        = 1.75
	keepaliveTimeoutFactor = 4
	staleGrace             = 5 * time.Second
	staleFactor            = 2
	trafficTimeoutFactor   = 6
	responseMaxGrace       = 10 * time.Second // Resource.RESPONSE_MAX_GRACE_TIME
)

// Link modes (Link.MODE_*). Only AES-256-CBC is enabled in the reference.
const (
	modeAES128CBC uint8 = 0x00
	modeAES256CBC uint8 = 0x01
	modeDefault         = modeAES256CBC
)

// Sizes of the link handshake.
const (
	keyHalf       = wire.LinkECPubSize / 2
	proofLen      = wire.SignatureLen + keyHalf
	derivedKeyLen = 64
)

// Status is a link's state (Link.PENDING ... Link.CLOSED).
type Status int

// Link states.
const (
	StatusPending Status = iota
	StatusHandshake
	StatusActive
	StatusStale
	StatusClosed
)

// String names the status.
func (s Status) String() string {
	names := [...]string{"pending", "handshake", "active", "stale", "closed"}
	if s < 0 || int(s) >= len(names) {
		return "invalid"
	}
	return names[s]
}

// Reason says why a link closed (Link.TIMEOUT, INITIATOR_CLOSED,
// DESTINATION_CLOSED).
type Reason int

// Close reasons.
const (
	ReasonNone Reason = iota
	ReasonTimeout
	ReasonInitiatorClosed
	ReasonDestinationClosed
)

// Callbacks are a link's event handlers. Except ResourceAdvertised they run
// on a transport or job goroutine outside the link's lock; none may block
// for long.
type Callbacks struct {
	// Established runs once the link is active.
	Established func(*Link)
	// Closed runs once when the link closes, with CloseReason set.
	Closed func(*Link)
	// Packet receives plaintext of data packets (context NONE).
	Packet func(l *Link, data []byte)
	// RemoteIdentified runs when the initiator identifies itself.
	RemoteIdentified func(l *Link, id *identity.Identity)
	// ResourceAdvertised decides whether to accept an inbound resource that
	// is not a request or response; nil refuses all such resources. It runs
	// while the link is locked: it may inspect the advertisement but must
	// not call methods of the link. Resources above the manager's
	// MaxResourceSize are refused before it is asked.
	ResourceAdvertised func(l *Link, a *Advertisement) bool
	// ResourceConcluded runs when an accepted inbound resource completes
	// or fails; check Resource.Err.
	ResourceConcluded func(l *Link, r *Resource)
	// ResourceProgress runs as parts of an inbound resource arrive.
	ResourceProgress func(l *Link, r *Resource)
}

// Link is one end of a Reticulum link.
type Link struct {
	m         *Manager
	id        wire.Hash
	initiator bool
	dest      wire.Hash
	destID    *identity.Identity // destination's identity (initiator) or our own (responder)
	ln        *listener          // responder side

	mu          sync.Mutex
	cb          Callbacks
	status      Status
	reason      Reason
	prv         *ecdh.PrivateKey
	sigPriv     ed25519.PrivateKey // initiator's ephemeral signing key
	peerSig     ed25519.PublicKey
	token       *identity.Token
	mtu         int
	mdu         int
	rtt         time.Duration
	attached    transport.Interface
	remote      *identity.Identity
	requestTime time.Time
	estTimeout  time.Duration
	activatedAt time.Time
	lastIn      time.Time
	lastOut     time.Time
	lastKA      time.Time
	lastData    time.Time
	staleAt     time.Time
	keepalive   time.Duration
	staleTime   time.Duration
	done        chan struct{}
	estab       chan struct{}

	pending  map[wire.Hash]*RequestReceipt
	incoming []*Resource
	outgoing []*Resource
	inSegs   map[wire.FullHash]*Resource
	proofs   map[wire.FullHash][]byte // resource proofs we sent, by packet hash, for cache requests
	proofQ   []wire.FullHash
	lastWin  int
	receipts map[wire.FullHash]*PacketReceipt
	proveAll bool
	// confirm and confirmRes gate proofs of inbound packets and resources
	// (ListenConfig.Confirm, ConfirmResource); they run without mu held.
	confirm    func(*Link, []byte) bool
	confirmRes func(*Link, *Resource) bool
}

func newLink(m *Manager, initiator bool) *Link {
	return &Link{
		m: m, initiator: initiator, mtu: wire.MTU, mdu: mduFor(wire.MTU),
		keepalive: keepaliveMax, staleTime: staleFactor * keepaliveMax,
		done: make(chan struct{}), estab: make(chan struct{}),
		pending: map[wire.Hash]*RequestReceipt{}, inSegs: map[wire.FullHash]*Resource{},
		proofs: map[wire.FullHash][]byte{}, receipts: map[wire.FullHash]*PacketReceipt{},
	}
}

// mduFor is Link.update_mdu: the largest plaintext of one link packet.
func mduFor(mtu int) int {
	return (mtu-wire.IFACMinSize-wire.HeaderMinSize-wire.TokenOverhead)/wire.AESBlockSize*wire.AESBlockSize - 1
}

// ID returns the link id.
func (l *Link) ID() wire.Hash { return l.id }

// Initiator reports whether this side opened the link.
func (l *Link) Initiator() bool { return l.initiator }

// Destination returns the destination hash the link goes to (initiator) or
// arrived at (responder).
func (l *Link) Destination() wire.Hash { return l.dest }

// Status returns the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// CloseReason returns why the link closed, or ReasonNone while open.
func (l *Link) CloseReason() Reason {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason
}

// RTT returns the measured round-trip time (zero before establishment).
func (l *Link) RTT() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rtt
}

// MTU returns the link's negotiated MTU.
func (l *Link) MTU() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mtu
}

// MDU returns the largest plaintext Send accepts.
func (l *Link) MDU() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mdu
}

// Keepalive returns the current keepalive interval.
func (l *Link) Keepalive() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keepalive
}

// RemoteIdentity returns the peer's identity: the destination's for the
// initiator, the identified initiator's (or nil) for the responder.
func (l *Link) RemoteIdentity() *identity.Identity {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remote
}

// SetCallbacks replaces the link's callbacks.
func (l *Link) SetCallbacks(cb Callbacks) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cb = cb
}

// Done is closed when the link closes.
func (l *Link) Done() <-chan struct{} { return l.done }

// Established is closed when the link becomes active.
func (l *Link) Established() <-chan struct{} { return l.estab }

// Wait blocks until the link is active, closes, or ctx ends.
func (l *Link) Wait(ctx context.Context) error {
	select {
	case <-l.estab:
		return nil
	case <-l.done:
		if l.CloseReason() == ReasonTimeout {
			return fmt.Errorf("link %s: %w", l.id, ErrTimeout)
		}
		return fmt.Errorf("link %s: %w", l.id, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("link %s: waiting: %w", l.id, ctx.Err())
	}
}

// handshake derives the link key: HKDF-SHA256 of the X25519 shared secret,
// salted with the link id, 64 bytes for AES-256 (Link.handshake).
func (l *Link) handshake(peerPub []byte) error {
	pub, err := ecdh.X25519().NewPublicKey(peerPub)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	shared, err := l.prv.ECDH(pub)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	key, err := DeriveKey(shared, l.id)
	if err != nil {
		return err
	}
	l.token, err = identity.NewToken(key)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	l.status = StatusHandshake
	return nil
}

// DeriveKey is the link key derivation of Link.handshake in AES-256 mode:
// HKDF-SHA256 over the ECDH shared secret with the link id as salt and no
// context, 64 bytes (32 HMAC key, 32 AES key).
func DeriveKey(shared []byte, linkID wire.Hash) ([]byte, error) {
	k, err := identity.HKDF(derivedKeyLen, shared, linkID[:], nil)
	if err != nil {
		return nil, fmt.Errorf("derive link key: %w", err)
	}
	return k, nil
}

// updateKeepalive is Link.__update_keepalive. Called with l.mu held.
func (l *Link) updateKeepalive() {
	ka := time.Duration(float64(l.rtt) * (float64(keepaliveMax) / float64(time.Second) / keepaliveMaxRTT))
	l.keepalive = max(min(ka, keepaliveMax), keepaliveMin)
	l.staleTime = l.keepalive * staleFactor
}

// packet builds a packet on this link.
func (l *Link) packet(pt wire.PacketType, ctx wire.Context, data []byte) *wire.Packet {
	return &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: wire.Link,
		PacketType: pt, DestinationHash: l.id, Context: ctx, Data: data,
	}
}

// sendLocked encrypts (unless plain) and sends a packet. Called with l.mu
// held; returns the packet as sent.
func (l *Link) sendLocked(pt wire.PacketType, ctx wire.Context, data []byte, plain bool, keepalive bool) (*wire.Packet, error) {
	if l.status == StatusClosed {
		return nil, fmt.Errorf("link %s: %w", l.id, ErrClosed)
	}
	if !plain {
		if l.token == nil {
			return nil, fmt.Errorf("link %s: no key: %w", l.id, ErrNotActive)
		}
		ct, err := l.token.Encrypt(data)
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", l.id, err)
		}
		data = ct
	}
	p := l.packet(pt, ctx, data)
	if err := l.m.send(p, l.attached); err != nil {
		return nil, fmt.Errorf("link %s: %w", l.id, err)
	}
	now := l.m.clock.Now()
	l.lastOut = now
	if keepalive {
		l.lastKA = now
	} else {
		l.lastData = now
	}
	return p, nil
}

// Send sends plaintext of at most MDU bytes as one encrypted data packet.
func (l *Link) Send(data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != StatusActive && l.status != StatusStale {
		return fmt.Errorf("link %s: %w", l.id, ErrNotActive)
	}
	if len(data) > l.mdu {
		return fmt.Errorf("link %s: %d bytes over mdu %d: %w", l.id, len(data), l.mdu, ErrTooLarge)
	}
	_, err := l.sendLocked(wire.Data, wire.ContextNone, data, false, false)
	return err
}

// Identify reveals id to the responder over the encrypted link
// (Link.identify): public key and a signature over link id + public key.
// Only the initiator of an active link can identify.
func (l *Link) Identify(id *identity.Identity) error {
	pub := id.PublicKey()
	sig, err := id.Sign(append(append([]byte(nil), l.id[:]...), pub...))
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initiator || l.status != StatusActive {
		return fmt.Errorf("identify on link %s: %w", l.id, ErrNotActive)
	}
	_, err = l.sendLocked(wire.Data, wire.ContextLinkIdentify, append(pub, sig...), false, false)
	return err
}

// Close tears the link down, sending LINKCLOSE if it was established.
func (l *Link) Close() error {
	var fx effects
	l.mu.Lock()
	if l.status == StatusClosed {
		l.mu.Unlock()
		return nil
	}
	if l.status != StatusPending {
		_, _ = l.sendLocked(wire.Data, wire.ContextLinkClose, l.id[:], false, false)
	}
	reason := ReasonDestinationClosed
	if l.initiator {
		reason = ReasonInitiatorClosed
	}
	l.closeLocked(reason, &fx)
	l.mu.Unlock()
	fx.run()
	return nil
}

// closeLocked marks the link closed, fails what is outstanding and
// schedules the Closed callback. Called with l.mu held.
func (l *Link) closeLocked(reason Reason, fx *effects) {
	if l.status == StatusClosed {
		return
	}
	l.status, l.reason = StatusClosed, reason
	for _, r := range append(append([]*Resource(nil), l.incoming...), l.outgoing...) {
		r.failLocked(ErrClosed, fx)
	}
	l.incoming, l.outgoing = nil, nil
	l.inSegs = map[wire.FullHash]*Resource{}
	for id, rr := range l.pending {
		rr.conclude(msgpack.Nil(), ErrClosed, fx)
		delete(l.pending, id)
	}
	now := l.m.clock.Now()
	for h, r := range l.receipts {
		delete(l.receipts, h)
		r.conclude(false, ErrClosed, now)
	}
	l.prv, l.token, l.sigPriv = nil, nil, nil
	close(l.done)
	cb := l.cb.Closed
	fx.add(func() {
		l.m.remove(l)
		if cb != nil {
			cb(l)
		}
	})
}

// activateLocked marks the link active. Called with l.mu held.
func (l *Link) activateLocked(now time.Time, fx *effects) {
	l.status = StatusActive
	l.activatedAt = now
	l.updateKeepalive()
	select {
	case <-l.estab:
	default:
		close(l.estab)
	}
	if cb := l.cb.Established; cb != nil {
		fx.add(func() { cb(l) })
	}
}

// jobs is the link watchdog (Link.__watchdog_job) plus request and
// resource timeouts.
func (l *Link) jobs(now time.Time) {
	var fx effects
	l.mu.Lock()
	switch l.status {
	case StatusPending, StatusHandshake:
		if !now.Before(l.requestTime.Add(l.estTimeout)) {
			l.m.log.Debug("link establishment timed out", "link", l.id.String())
			l.closeLocked(ReasonTimeout, &fx)
		}
	case StatusActive:
		lastIn := l.activatedAt
		if l.lastIn.After(lastIn) {
			lastIn = l.lastIn
		}
		if !now.Before(lastIn.Add(l.keepalive)) || !now.Before(l.lastOut.Add(l.keepalive)) {
			if l.initiator && !now.Before(l.lastKA.Add(l.keepalive)) {
				_, _ = l.sendLocked(wire.Data, wire.ContextKeepalive, []byte{0xFF}, true, true)
			}
			if !now.Before(lastIn.Add(l.staleTime)) {
				l.status, l.staleAt = StatusStale, now
			}
		}
	case StatusStale:
		grace := time.Duration(keepaliveTimeoutFactor)*l.rtt + staleGrace
		if !now.Before(l.staleAt.Add(grace)) {
			_, _ = l.sendLocked(wire.Data, wire.ContextLinkClose, l.id[:], false, false)
			l.closeLocked(ReasonTimeout, &fx)
		}
	}
	if l.status != StatusClosed {
		l.receiptJobsLocked(now)
		l.requestJobsLocked(now, &fx)
		l.resourceJobsLocked(now, &fx)
	}
	l.mu.Unlock()
	fx.run()
}

// randomKey returns a fresh X25519 private key.
func randomKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	return k, nil
}
