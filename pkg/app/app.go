package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reticle-mesh/reticle/pkg/lxmf/router"
	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/link"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// LXMFIdentityFile is the LXMF identity's path below the data dir.
const LXMFIdentityFile = "identities/lxmf"

// DefaultMaxContent is the default limit on a message's title plus content.
const DefaultMaxContent = 64 << 10

// DefaultMaxFields is the default limit on the packed fields (attachments) of a message sent.
const DefaultMaxFields = 8 << 20

// Options configure an App.
type Options struct {
	// DataDir holds identities/lxmf (created 0600 on first start). Required
	// unless Identity is set.
	DataDir string
	// Identity overrides the LXMF identity file (tests).
	Identity *identity.Identity
	// DisplayName is announced with the delivery destination.
	DisplayName string
	// StampCost is required of inbound messages (0: none).
	StampCost int
	// MaxContent limits title plus content in bytes (default 64 KiB).
	MaxContent int
	// MaxFields limits the packed fields (attachments) of a message sent
	// (default 8 MiB).
	MaxFields int
	// AnnounceAtStart announces the delivery destination (and a hosted propagation node) when Start runs.
	AnnounceAtStart bool
	// AnnounceInterval announces again on this interval, with jitter (0: never); interface-up events
	// from the node announce regardless.
	AnnounceInterval time.Duration
	// Links enables direct delivery over links (nil: direct is unavailable).
	// It is the node's shared link manager; the app does not start it.
	Links *link.Manager
	// Router tunes delivery; its Identity, DisplayName, StampCost, Clock and
	// Logger are set from these options.
	Router router.Options
	// Propagation configures propagation nodes (client side on whenever
	// Links is set; Propagation.Serve hosts a node).
	Propagation PropagationOptions
	// Budget bounds the bytes inbound messages may take (budget.go); the
	// low-disk watermark and reserve file need DataDir.
	Budget BudgetOptions
	// StrangerAttachments is what happens to the files, images and audio of a message from an address
	// that is not a contact: StrangerAttachmentsHold (the default, "") keeps the message and drops the
	// bytes, StrangerAttachmentsAllow stores them. The owner's saved setting wins.
	StrangerAttachments string
	// RefuseStrangers drops every message from an address that is not a contact, before storage and
	// unproven, like a blocked sender's. The owner's saved setting wins.
	RefuseStrangers bool
	// NoPropagateOnFailure turns off the default hand-over of a direct or opportunistic message that ran
	// out of attempts to the chosen propagation node. The owner's saved setting wins.
	NoPropagateOnFailure bool
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock router.Clock
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// App is the messaging use cases on top of the store and the mesh node.
type App struct {
	opts   Options
	log    *slog.Logger
	st     *store.Store
	tr     *transport.Transport
	r      *router.Router
	prop   *propagation
	events *Broker
	budget *budget
	blobs  *blobStore // nil without a data dir: attachments then stay inside the stored fields
	id     *identity.Identity
	// ifEvents reports interfaces coming up (nil in tests without a node).
	ifEvents InterfaceEvents
	ann      *announcer
	// settingsMu guards applying the owner's settings; announceEvery is the interval in force.
	settingsMu    sync.Mutex
	announceEvery time.Duration
	blocked       blocklist
	contacts      contactBook
	// holdStrangerFiles and refuseStrangers are the stranger settings in force (set under settingsMu,
	// read on every inbound message).
	holdStrangerFiles atomic.Bool
	refuseStrangers   atomic.Bool
	propagateOnFail   atomic.Bool
	// startTransport is whether the node's transport forwarded when the app was made (--transport):
	// the default of the transport setting.
	startTransport bool
	// syncMinutes and hostingMB are the sync interval and hosted node storage limit in force (settingsMu).
	syncMinutes, hostingMB int

	mu      sync.Mutex
	started bool
	closed  bool
	// extraAnnounce announces further destinations on the identity (the NomadNet node) with every
	// LXMF announce. Atomic: announceAll runs under mu from Start.
	extraAnnounce atomic.Pointer[func(reason string)]
}

// New loads or creates the LXMF identity and builds the router on the
// node's transport (registering the lxmf.delivery destination). Call it
// after rns.New and before node.Start; nothing is sent until Start.
func New(opts Options, st *store.Store, node *rns.Node) (*App, error) {
	if st == nil || node == nil {
		return nil, errors.New("new app: store and node are required")
	}
	a, err := newApp(opts, st, node.Transport())
	if err != nil {
		return nil, err
	}
	a.ifEvents = node
	return a, nil
}

func newApp(opts Options, st *store.Store, tr *transport.Transport) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.MaxContent <= 0 {
		opts.MaxContent = DefaultMaxContent
	}
	if opts.MaxFields <= 0 {
		opts.MaxFields = DefaultMaxFields
	}
	id := opts.Identity
	if id == nil {
		if opts.DataDir == "" {
			return nil, errors.New("new app: data dir required")
		}
		var err error
		if id, err = rns.LoadOrCreateIdentity(filepath.Join(opts.DataDir, LXMFIdentityFile), opts.Logger); err != nil {
			return nil, fmt.Errorf("new app: lxmf identity: %w", err)
		}
	}
	blobs, err := newBlobStore(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	a := &App{opts: opts, log: opts.Logger, st: st, tr: tr, events: NewBroker(), blobs: blobs, id: id,
		announceEvery: opts.AnnounceInterval}
	a.holdStrangerFiles.Store(opts.StrangerAttachments != StrangerAttachmentsAllow)
	a.refuseStrangers.Store(opts.RefuseStrangers)
	a.propagateOnFail.Store(!opts.NoPropagateOnFailure)
	a.startTransport = tr.IsTransport()
	bo := opts.Budget
	if bo.IsContact == nil {
		bo.IsContact = a.contacts.isContact
	}
	a.budget = newBudget(bo, opts.DataDir, st, opts.Logger.With("component", "budget"), opts.Clock)
	ro := opts.Router
	ro.AdmitResource = a.budget.admitResource
	ro.Progress = newProgress(a.events).report
	ro.PropagateOnFail = a.propagateOnFail.Load
	ro.Identity, ro.DisplayName, ro.StampCost = id, opts.DisplayName, opts.StampCost
	ro.Clock, ro.Logger = opts.Clock, opts.Logger.With("component", "lxmf")
	if opts.Links != nil {
		ro.Links = opts.Links
	}
	r, err := router.New(ro, tr, queue{a}, sink{a})
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	a.r = r
	if a.opts.DisplayName == "" {
		a.opts.DisplayName = DefaultDisplayName(r.Hash())
		r.SetDisplayName(a.opts.DisplayName)
	}
	if a.prop, err = newPropagation(a); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("new app: %w", err)
	}
	return a, nil
}

// Start restores known peers into the transport, starts the router (which
// picks up messages left pending by a previous run) and, if configured,
// announces.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return router.ErrClosed
	}
	if a.started {
		return router.ErrStarted
	}
	if err := a.migrateAttachments(ctx); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if err := a.blocked.load(ctx, a.st); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if err := a.contacts.load(ctx, a.st); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if err := a.budget.start(ctx); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	peers, err := a.st.ListPeers(ctx, 0)
	if err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	for _, p := range peers {
		rp, err := routerPeer(p)
		if err == nil {
			err = a.r.RememberPeer(rp)
		}
		if err != nil {
			a.log.Warn("stored lxmf peer not restored", "peer", p.Hash, "error", err)
		}
	}
	a.settingsMu.Lock()
	err = a.applySettingsLocked(ctx, nil)
	a.settingsMu.Unlock()
	if err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if err := a.r.Start(ctx); err != nil {
		return fmt.Errorf("start app: %w", err)
	}
	if err := a.prop.start(ctx); err != nil {
		_ = a.r.Close()
		return fmt.Errorf("start app: %w", err)
	}
	a.started = true
	a.log.Info("lxmf messaging started", "address", a.r.Hash().String(), "peers", len(peers))
	if a.opts.AnnounceAtStart {
		a.announceAll("start")
	}
	a.startAnnouncer(ctx)
	return nil
}

// Close stops the router. Pending messages stay queued in the store.
func (a *App) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	ann := a.ann
	a.mu.Unlock()
	ann.stop()
	a.prop.close()
	if err := a.r.Close(); err != nil {
		return fmt.Errorf("close app: %w", err)
	}
	return nil
}

// Events returns the event broker (for the websocket hub).
func (a *App) Events() *Broker { return a.events }

// Router returns the LXMF router (for tests and diagnostics).
func (a *App) Router() *router.Router { return a.r }

// IdentityInfo is the own LXMF address and display name, and the identity behind the address: its hash
// (what rnpath and NomadNet show) and public key (64 bytes, X25519 then Ed25519, hex).
type IdentityInfo struct {
	Address      string `json:"address"`
	DisplayName  string `json:"display_name"`
	IdentityHash string `json:"identity_hash"`
	PublicKey    string `json:"public_key"`
}

// Identity returns the own LXMF delivery address, display name, identity hash and public key.
func (a *App) Identity(context.Context) IdentityInfo {
	return IdentityInfo{Address: a.r.Hash().String(), DisplayName: a.r.DisplayName(),
		IdentityHash: a.id.Hash().String(), PublicKey: hex.EncodeToString(a.id.PublicKey())}
}

// Announce announces the delivery destination now, the hosted propagation node if there is one, and
// the NomadNet node when pages run.
// It returns ErrNotConnected when no interface could send it.
func (a *App) Announce(context.Context) error {
	if err := a.r.Announce(); err != nil {
		if errors.Is(err, transport.ErrNotSent) {
			return fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
		return err
	}
	if _, hosted := a.PropagationServerAddress(); hosted {
		if err := a.AnnouncePropagation(); err != nil {
			return err
		}
	}
	if extra := a.extraAnnounce.Load(); extra != nil {
		(*extra)("manual")
	}
	return nil
}

// Storage reports the storage budget, free space and refusal counters.
func (a *App) Storage(ctx context.Context) StorageInfo { return a.budget.info(ctx) }

// ExportIdentity returns the LXMF identity's private key in the reference's 64-byte key file format
// (X25519 then Ed25519 private key), the file `rnid` and the Python apps read. The caller has
// re-checked the owner's password.
func (a *App) ExportIdentity() ([]byte, error) {
	k, err := a.id.PrivateKey()
	if err != nil {
		return nil, fmt.Errorf("export identity: %w", err)
	}
	a.log.Warn("identity private key exported", "identity", a.id.Hash().String())
	return k, nil
}
