package link

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
	"github.com/reticle-mesh/reticle/pkg/rns/wire/msgpack"
)

// Request is an inbound request as a handler sees it.
type Request struct {
	// Path is the registered path the request matched.
	Path string
	// Data is the request's data element.
	Data msgpack.Value
	// ID is the request id (truncated hash of the request packet, or of the
	// packed request when it came as a resource).
	ID wire.Hash
	// Link is the link the request came on.
	Link *Link
	// Remote is the identified initiator, or nil.
	Remote *identity.Identity
	// RequestedAt is the sender's timestamp.
	RequestedAt time.Time
}

// RequestHandler answers a request. With ok false nothing is sent (the
// reference's None response).
type RequestHandler func(req *Request) (resp msgpack.Value, ok bool)

// Handler is a registered request path.
type Handler struct {
	// Path is the request path, for example "/page/index.mu".
	Path string
	// Handle produces the response.
	Handle RequestHandler
	// Allow, when set, decides per remote identity (nil when the initiator
	// has not identified); otherwise everyone is allowed.
	Allow func(remote *identity.Identity) bool
}

// ListenConfig configures inbound links to one local destination.
type ListenConfig struct {
	// Callbacks are installed on every inbound link before it is proven.
	Callbacks Callbacks
	// Handlers are the request paths served initially; RegisterHandler and
	// DeregisterHandler change them later, for open links too.
	Handlers []Handler
	// MaxRequestSize caps the size of an inbound request (0: no cap beyond
	// the manager's resource cap).
	MaxRequestSize int
	// ProveAll proves every data packet received on inbound links
	// (Destination.PROVE_ALL, which LXMF delivery destinations use).
	ProveAll bool
	// Confirm, when set with ProveAll, decides per inbound data packet
	// (context NONE) whether it is proven: it gets the decrypted plaintext
	// and runs synchronously on the receiving goroutine before any proof
	// is sent, so a receiver can store the data first. false sends no
	// proof (the sender's receipt times out and it retries, as with a lost
	// proof). It runs without the link's lock held and may call methods of
	// the link; it blocks that interface's inbound path, so keep it short.
	// Callbacks.Packet still runs afterwards, whatever it returned.
	Confirm func(l *Link, data []byte) bool
	// ConfirmResource, when set, decides whether a completed inbound
	// resource (one accepted by Callbacks.ResourceAdvertised, not a request
	// or response) is proven. It runs after the whole resource is
	// assembled and checked, before the proof of its last segment is sent
	// and before Callbacks.ResourceConcluded; false sends no proof (the
	// sender's resource fails and it retries later). Like Confirm it runs
	// without the link's lock held and may call methods of the link.
	ConfirmResource func(l *Link, r *Resource) bool
}

type listener struct {
	dest     *transport.Destination
	cfg      ListenConfig
	handlers map[wire.Hash]Handler
}

// PathHash is the truncated hash of a request path, as sent in requests.
func PathHash(path string) wire.Hash { return identity.TruncatedHash([]byte(path)) }

// Listen accepts links to a registered local destination.
func (m *Manager) Listen(d *transport.Destination, cfg ListenConfig) error {
	ln := &listener{dest: d, cfg: cfg, handlers: map[wire.Hash]Handler{}}
	for _, h := range cfg.Handlers {
		ln.handlers[PathHash(h.Path)] = h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.listeners[d.Hash()]; ok {
		return fmt.Errorf("listen on %s: %w", d.Hash(), ErrAlreadyListening)
	}
	m.listeners[d.Hash()] = ln
	return nil
}

// Unlisten stops accepting new links to d; existing links stay up.
func (m *Manager) Unlisten(d *transport.Destination) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.listeners, d.Hash())
}

// RegisterHandler adds (or replaces) a request path served by a listening
// destination (Destination.register_request_handler). It applies to links
// already open too: handlers are looked up on each request, as the
// reference does.
func (m *Manager) RegisterHandler(d wire.Hash, h Handler) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ln := m.listeners[d]
	if ln == nil {
		return fmt.Errorf("register handler %q on %s: %w", h.Path, d, ErrNotListening)
	}
	m.listeners[d] = ln.with(func(hs map[wire.Hash]Handler) { hs[PathHash(h.Path)] = h })
	return nil
}

// DeregisterHandler stops serving a request path, on open links too
// (Destination.deregister_request_handler). It reports whether the path
// was registered.
func (m *Manager) DeregisterHandler(d wire.Hash, path string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ln := m.listeners[d]
	if ln == nil {
		return false
	}
	if _, ok := ln.handlers[PathHash(path)]; !ok {
		return false
	}
	m.listeners[d] = ln.with(func(hs map[wire.Hash]Handler) { delete(hs, PathHash(path)) })
	return true
}

// with returns a copy of the listener with its handlers changed by f;
// listeners are never changed in place, so links read them without a lock
// once they got one.
func (ln *listener) with(f func(map[wire.Hash]Handler)) *listener {
	hs := make(map[wire.Hash]Handler, len(ln.handlers)+1)
	for k, v := range ln.handlers {
		hs[k] = v
	}
	f(hs)
	cp := *ln
	cp.handlers = hs
	cp.cfg.Handlers = make([]Handler, 0, len(hs))
	for _, h := range hs {
		cp.cfg.Handlers = append(cp.cfg.Handlers, h)
	}
	return &cp
}

// listenerFor returns the current listener of a link's destination, so
// request handlers registered or removed after the link opened apply
// (Link.handle_request looks them up on each request); after Unlisten the
// link keeps the listener it was accepted with. It takes m.mu, which is
// never held while a link's lock is taken, so it may run under l.mu.
func (l *Link) listenerFor() *listener {
	if l.ln == nil {
		return nil
	}
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if ln := l.m.listeners[l.dest]; ln != nil {
		return ln
	}
	return l.ln
}

// accept validates a link request and answers it with a proof
// (Link.validate_request, Link.prove).
func (m *Manager) accept(ln *listener, p *wire.Packet, from transport.Interface) error {
	n := len(p.Data)
	if n != wire.LinkECPubSize && n != wire.LinkECPubSize+wire.LinkMTUSize {
		return fmt.Errorf("link request of %d bytes: %w", n, wire.ErrLength)
	}
	mtu, mode := wire.MTU, modeDefault
	if n > wire.LinkECPubSize {
		var err error
		if mtu, mode, err = wire.ParseLinkSignalling(p.Data[wire.LinkECPubSize:]); err != nil {
			return err
		}
		if mtu == 0 {
			mtu = wire.MTU
		}
	}
	if mode != modeDefault {
		return fmt.Errorf("link mode %d not enabled: %w", mode, wire.ErrField)
	}
	mtu = min(mtu, from.MTU())
	id := ln.dest.Identity()
	l := newLink(m, false)
	l.id = wire.LinkID(p)
	l.dest = ln.dest.Hash()
	l.destID = id
	l.ln = ln
	l.cb = ln.cfg.Callbacks
	l.proveAll = ln.cfg.ProveAll
	l.confirm, l.confirmRes = ln.cfg.Confirm, ln.cfg.ConfirmResource
	l.peerSig = ed25519.PublicKey(append([]byte(nil), p.Data[keyHalf:wire.LinkECPubSize]...))
	l.mtu, l.mdu = mtu, mduFor(mtu)
	var err error
	if l.prv, err = randomKey(); err != nil {
		return err
	}
	if err := l.handshake(p.Data[:keyHalf]); err != nil {
		return err
	}
	now := m.clock.Now()
	l.requestTime, l.lastIn = now, now
	l.estTimeout = establishmentPerHop*time.Duration(max(1, int(p.Hops))) + keepaliveMax
	l.attached = from

	sb, err := wire.LinkSignalling(mtu, mode)
	if err != nil {
		return err
	}
	data, err := proofData(id, l.id, l.prv.PublicKey().Bytes(), sb)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if _, dup := m.links[l.id]; dup {
		m.mu.Unlock()
		return nil
	}
	if len(m.links) >= m.opts.MaxLinks {
		m.mu.Unlock()
		return ErrTooManyLinks
	}
	m.links[l.id] = l
	m.mu.Unlock()
	l.mu.Lock()
	_, err = l.sendLocked(wire.Proof, wire.ContextLRProof, data, true, false)
	l.mu.Unlock()
	if err != nil {
		m.remove(l)
		return fmt.Errorf("send link proof: %w", err)
	}
	return nil
}

// OpenOptions tune OpenWith.
type OpenOptions struct {
	// Callbacks are the link's event handlers.
	Callbacks Callbacks
	// MTU caps the link MTU signalled in the request (0: the path
	// interface's hardware MTU, as the reference signals it).
	MTU int
}

// Open starts establishing a link to a destination whose identity is known
// (from an announce or transport.Remember). It returns at once; wait on
// Link.Established or use Link.Wait.
func (m *Manager) Open(dest wire.Hash, cb Callbacks) (*Link, error) {
	return m.OpenWith(dest, OpenOptions{Callbacks: cb})
}

// OpenWith is Open with options.
func (m *Manager) OpenWith(dest wire.Hash, o OpenOptions) (*Link, error) {
	cb := o.Callbacks
	id, _, ok := m.tr.Recall(dest)
	if !ok {
		return nil, fmt.Errorf("open link to %s: %w", dest, transport.ErrUnknownDestination)
	}
	l := newLink(m, true)
	l.dest, l.destID, l.cb = dest, id, cb
	var err error
	if l.prv, err = randomKey(); err != nil {
		return nil, err
	}
	sigPub, sigPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("open link: %w", err)
	}
	l.sigPriv = sigPriv
	mtu, ok := m.tr.PathMTU(dest)
	if !ok || mtu <= 0 {
		mtu = wire.MTU
	}
	if o.MTU > 0 {
		mtu = min(mtu, max(o.MTU, wire.MTU))
	}
	sb, err := wire.LinkSignalling(min(mtu, 0x1FFFFF), modeDefault)
	if err != nil {
		return nil, fmt.Errorf("open link: %w", err)
	}
	data := make([]byte, 0, wire.LinkECPubSize+wire.LinkMTUSize)
	data = append(data, l.prv.PublicKey().Bytes()...)
	data = append(data, sigPub...)
	data = append(data, sb[:]...)
	p := &wire.Packet{
		HeaderType: wire.Header1, TransportType: wire.Broadcast, DestinationType: wire.Single,
		PacketType: wire.LinkRequest, DestinationHash: dest, Context: wire.ContextNone, Data: data,
	}
	l.id = wire.LinkID(p)
	hops := 1
	if pi, ok := m.tr.Path(dest); ok {
		hops = max(1, int(pi.Hops))
	}
	now := m.clock.Now()
	l.requestTime, l.lastOut = now, now
	l.estTimeout = establishmentPerHop + establishmentPerHop*time.Duration(hops)
	if err := m.register(l); err != nil {
		return nil, fmt.Errorf("open link to %s: %w", dest, err)
	}
	if err := m.tr.Outbound(p, nil); err != nil {
		m.remove(l)
		return nil, fmt.Errorf("open link to %s: %w", dest, err)
	}
	return l, nil
}

// proofData builds a link request proof (Link.prove): the destination
// identity's signature over link id + responder X25519 public key +
// destination Ed25519 public key + signalling, then the X25519 public key
// and the signalling bytes.
func proofData(id *identity.Identity, linkID wire.Hash, pub []byte, sb [wire.LinkMTUSize]byte) ([]byte, error) {
	idPub := id.PublicKey()
	signed := make([]byte, 0, wire.TruncatedHashLen+wire.LinkECPubSize+wire.LinkMTUSize)
	signed = append(signed, linkID[:]...)
	signed = append(signed, pub...)
	signed = append(signed, idPub[keyHalf:]...)
	signed = append(signed, sb[:]...)
	sig, err := id.Sign(signed)
	if err != nil {
		return nil, fmt.Errorf("sign link proof: %w", err)
	}
	return append(append(sig, pub...), sb[:]...), nil
}
