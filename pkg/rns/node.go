package rns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/rns/shared"
	"github.com/reticle-mesh/reticle/pkg/rns/transport"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Sentinel errors.
var (
	// ErrNoDataDir means Options.DataDir is empty.
	ErrNoDataDir = errors.New("data dir required")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("node already started")
	// ErrClosed means the node was closed.
	ErrClosed = errors.New("node closed")
	// ErrDuplicateInterface means an interface with that name exists.
	ErrDuplicateInterface = errors.New("duplicate interface name")
	// ErrNoInterface means no interface has that name.
	ErrNoInterface = errors.New("no such interface")
)

// TransportIdentityFile is the transport identity's path below the data dir.
const TransportIdentityFile = "identities/transport"

// RatchetDir holds the ratchet rings of local destinations below the data
// dir, one 0600 file per destination hash.
const RatchetDir = "identities/ratchets"

// Options configure a Node.
type Options struct {
	// Interfaces are interface URIs, see iface.Parse.
	Interfaces []string
	// DataDir holds identities/ (created 0700; keys 0600).
	DataDir string
	// Transport enables forwarding for other nodes.
	Transport bool
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Ingress configures announce ingress control.
	Ingress transport.IngressControl
	// AnnounceRate configures rebroadcast rate limits (transport mode).
	AnnounceRate transport.AnnounceRate
	// Clock defaults to the system clock.
	Clock transport.Clock
	// ReconnectMin and ReconnectMax bound client reconnect backoff
	// (defaults 1s and 60s).
	ReconnectMin, ReconnectMax time.Duration
	// PersistInterval is how often known destinations and the path table
	// are saved while running, besides on Close (default 12h, the
	// reference's Reticulum.PERSIST_INTERVAL).
	PersistInterval time.Duration
	// StatePoll is how often interface link states are checked for
	// OnInterfaceEvent (default DefaultStatePoll).
	StatePoll time.Duration
}

// Node is a running Reticulum node.
type Node struct {
	opts  Options
	log   *slog.Logger
	id    *identity.Identity
	tr    *transport.Transport
	in    *transport.Parallel // what the interfaces hand frames to: announce checks on every core
	ifacs *ifacTable
	ev    *events

	mu      sync.Mutex
	ifs     []iface.Interface
	specs   []iface.Spec
	rpcs    map[iface.Interface]*shared.Server
	ctx     context.Context
	started bool
	closed  bool

	stopPersist context.CancelFunc
	persistWG   sync.WaitGroup
	stopWatch   context.CancelFunc
	watchWG     sync.WaitGroup
}

// ifacTable maps interfaces to their access code settings.
type ifacTable struct {
	mu sync.Mutex
	m  map[iface.Interface]*identity.IFAC
}

func (t *ifacTable) get(i iface.Interface) *identity.IFAC {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[i]
}

func (t *ifacTable) set(i iface.Interface, c *identity.IFAC) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c == nil {
		delete(t.m, i)
		return
	}
	t.m[i] = c
}

// build creates the interface for a spec and registers its access code.
func (n *Node) build(s iface.Spec) (iface.Interface, error) {
	i, err := iface.New(s, iface.Options{
		Handler: nodeHandler{in: n.in, ev: n.ev}, Logger: n.opts.Logger.With("component", "iface"),
		MinBackoff: n.opts.ReconnectMin, MaxBackoff: n.opts.ReconnectMax,
	})
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", s.Name, err)
	}
	if s.HasIFAC() {
		size := s.IFACSize
		if size == 0 {
			size = identity.IFACSizeIP
		}
		c, err := identity.NewIFAC(s.NetworkName, s.Passphrase, size)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", s.Name, err)
		}
		n.ifacs.set(i, c)
	}
	return i, nil
}

// AddInterface builds an interface from a URI at runtime and, if the node
// is running, starts it.
func (n *Node) AddInterface(uri string) (iface.Interface, error) {
	s, err := iface.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("add interface: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	for _, x := range n.ifs {
		if x.Name() == s.Name {
			return nil, fmt.Errorf("add interface: %w: %q", ErrDuplicateInterface, s.Name)
		}
	}
	i, err := n.build(s)
	if err != nil {
		return nil, fmt.Errorf("add interface: %w", err)
	}
	if n.started {
		if err := i.Start(n.ctx); err != nil {
			n.ifacs.set(i, nil)
			return nil, fmt.Errorf("add interface: start %s: %w", s.Name, err)
		}
		if err := n.startRPC(n.ctx, i); err != nil {
			_ = i.Close()
			n.ifacs.set(i, nil)
			return nil, fmt.Errorf("add interface: %w", err)
		}
	}
	n.ifs = append(n.ifs, i)
	n.specs = append(n.specs, s)
	return i, nil
}

// RemoveInterface closes and removes the named interface.
func (n *Node) RemoveInterface(name string) error {
	n.mu.Lock()
	var victim iface.Interface
	for k, x := range n.ifs {
		if x.Name() == name {
			victim = x
			n.ifs = append(n.ifs[:k], n.ifs[k+1:]...)
			n.specs = append(n.specs[:k], n.specs[k+1:]...)
			break
		}
	}
	rpc := n.rpcs[victim]
	delete(n.rpcs, victim)
	n.mu.Unlock()
	if victim == nil {
		return fmt.Errorf("remove interface %q: %w", name, ErrNoInterface)
	}
	if rpc != nil {
		_ = rpc.Close()
	}
	err := victim.Close()
	n.ifacs.set(victim, nil)
	return err
}

// New validates the options, loads or creates the transport identity and
// builds transport and interfaces. Nothing runs until Start.
func New(opts Options) (*Node, error) {
	if opts.DataDir == "" {
		return nil, ErrNoDataDir
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	specs := make([]iface.Spec, 0, len(opts.Interfaces))
	names := map[string]bool{}
	for _, u := range opts.Interfaces {
		s, err := iface.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("new node: %w", err)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("new node: %w: %q", ErrDuplicateInterface, s.Name)
		}
		names[s.Name] = true
		specs = append(specs, s)
	}
	id, err := LoadOrCreateIdentity(filepath.Join(opts.DataDir, TransportIdentityFile), opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	ifacs := &ifacTable{m: map[iface.Interface]*identity.IFAC{}}
	tr, err := transport.New(transport.Options{
		Identity: id, Transport: opts.Transport, Logger: opts.Logger.With("component", "transport"),
		Clock: opts.Clock, Ingress: opts.Ingress, AnnounceRate: opts.AnnounceRate,
		IFAC: ifacs.get, RatchetDir: filepath.Join(opts.DataDir, RatchetDir),
	})
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	n := &Node{
		opts: opts, log: opts.Logger, id: id, tr: tr, in: transport.NewParallel(tr, 0), ifacs: ifacs, rpcs: map[iface.Interface]*shared.Server{},
		ev: &events{subs: map[int]func(InterfaceEvent){}},
	}
	for _, s := range specs {
		i, err := n.build(s)
		if err != nil {
			n.in.Close()
			return nil, fmt.Errorf("new node: %w", err)
		}
		n.ifs = append(n.ifs, i)
		n.specs = append(n.specs, s)
	}
	return n, nil
}

// LoadOrCreateIdentity loads the identity at path, or creates and saves a
// new one (directory 0700, file 0600). An existing file with wider
// permissions is tightened to 0600 with a warning. A symlink (even a
// dangling one, which would otherwise be replaced) is refused with
// identity.ErrNotRegularFile, never followed.
func LoadOrCreateIdentity(path string, log *slog.Logger) (*identity.Identity, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("identity dir: %w", err)
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("identity %s: %w: %s", path, identity.ErrNotRegularFile, fi.Mode().Type())
	case err == nil:
		if fi.Mode().Perm()&0o077 != 0 {
			log.Warn("identity file readable by others, fixing permissions", "path", path, "mode", fi.Mode().Perm().String())
			if err := os.Chmod(path, 0o600); err != nil {
				return nil, fmt.Errorf("identity permissions: %w", err)
			}
		}
		return identity.Load(path)
	case errors.Is(err, os.ErrNotExist):
		id, err := identity.Generate()
		if err != nil {
			return nil, fmt.Errorf("create identity: %w", err)
		}
		if err := id.Save(path); err != nil {
			return nil, fmt.Errorf("create identity: %w", err)
		}
		log.Info("created identity", "path", path, "identity", id.Hash().String())
		return id, nil
	default:
		return nil, fmt.Errorf("identity: %w", err)
	}
}

// Start restores saved known destinations and paths, starts the
// transport job loop and the interfaces (see startInterfaces for the
// shared-instance rule). On error it stops what it started.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.started {
		return ErrStarted
	}
	n.ctx = ctx
	n.loadState()
	if err := n.tr.Start(ctx); err != nil {
		return fmt.Errorf("start transport: %w", err)
	}
	if err := n.startInterfaces(ctx); err != nil {
		for j := len(n.ifs) - 1; j >= 0; j-- {
			_ = n.ifs[j].Close()
		}
		n.in.Close()
		_ = n.tr.Close()
		n.closed = true
		return err
	}
	n.started = true
	n.startPersist(ctx)
	n.startWatch(ctx)
	n.log.Info("reticulum node started", "transport_id", n.tr.ID().String(), "transport", n.opts.Transport, "interfaces", len(n.ifs))
	return nil
}

// Close saves known destinations and the path table (see state.go), then
// stops interfaces in reverse order, then the transport. It waits for
// every goroutine the node started.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	started, stopPersist, stopWatch := n.started, n.stopPersist, n.stopWatch
	ifs := append([]iface.Interface(nil), n.ifs...)
	rpcs := make([]*shared.Server, 0, len(n.rpcs))
	for _, r := range n.rpcs {
		rpcs = append(rpcs, r)
	}
	n.mu.Unlock()
	var errs []error
	if started {
		stopWatch()
		n.watchWG.Wait()
		stopPersist()
		n.persistWG.Wait()
		// Before the interfaces go: detaching drops their paths.
		if err := n.saveState(); err != nil {
			errs = append(errs, fmt.Errorf("save transport state: %w", err))
		}
	}
	for _, r := range rpcs {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close shared instance rpc: %w", err))
		}
	}
	for k := len(ifs) - 1; k >= 0; k-- {
		if err := ifs[k].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close interface %s: %w", ifs[k].Name(), err))
		}
	}
	n.in.Close() // the frames the interfaces delivered are processed first
	if err := n.tr.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close transport: %w", err))
	}
	return errors.Join(errs...)
}

// Identity returns the transport identity.
func (n *Node) Identity() *identity.Identity { return n.id }

// Transport returns the transport core, for the link and LXMF layers.
func (n *Node) Transport() *transport.Transport { return n.tr }

// Interfaces returns the configured top-level interfaces.
func (n *Node) Interfaces() []iface.Interface {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]iface.Interface(nil), n.ifs...)
}

// InterfaceStats returns a stats snapshot of every configured interface, in
// configuration order (Specs returns the matching parsed URIs). A server's
// entry sums its clients and reports their number.
func (n *Node) InterfaceStats() []iface.Stats {
	ifs := n.Interfaces()
	out := make([]iface.Stats, 0, len(ifs))
	for _, i := range ifs {
		out = append(out, i.Stats())
	}
	return out
}

// Specs returns the parsed interface URIs, in configuration order.
func (n *Node) Specs() []iface.Spec {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]iface.Spec(nil), n.specs...)
}

// ListenAddr returns the bound address of the named tcp-server interface,
// or nil (useful with port 0).
func (n *Node) ListenAddr(name string) net.Addr {
	for _, i := range n.Interfaces() {
		if s, ok := i.(*iface.TCPServer); ok && i.Name() == name {
			return s.Addr()
		}
	}
	return nil
}

// RegisterDestination registers a local SINGLE destination.
func (n *Node) RegisterDestination(cfg transport.DestinationConfig) (*transport.Destination, error) {
	return n.tr.Register(cfg)
}

// Announce announces a local destination on all interfaces.
func (n *Node) Announce(d *transport.Destination, appData []byte) error {
	return n.tr.Announce(d, appData)
}

// Send encrypts and sends one packet to a known SINGLE destination.
func (n *Node) Send(dest wire.Hash, plaintext []byte, o transport.SendOptions) (*transport.Receipt, error) {
	return n.tr.Send(dest, plaintext, o)
}

// RequestPath asks the network for a path to dest.
func (n *Node) RequestPath(dest wire.Hash) error { return n.tr.RequestPath(dest) }

// startInterfaces starts shared-instance interfaces first. If one of them
// attached to another program's shared instance, the node is a client of
// that instance and, as the reference does (Reticulum.__start_local_interface),
// leaves its other interfaces down instead of fighting the instance for
// ports; otherwise it starts them all, then the RPC endpoint of a serving
// shared instance. Called with n.mu held; the caller closes everything on
// error.
func (n *Node) startInterfaces(ctx context.Context) error {
	attached := ""
	for _, i := range n.ifs {
		si, ok := i.(*iface.Shared)
		if !ok {
			continue
		}
		if err := si.Start(ctx); err != nil {
			return fmt.Errorf("start interface %s: %w", i.Name(), err)
		}
		if si.Role() == iface.LocalAttached && attached == "" {
			attached = si.Name()
		}
	}
	for _, i := range n.ifs {
		if _, ok := i.(*iface.Shared); ok {
			continue
		}
		if attached != "" {
			n.log.Info("attached to a shared instance, leaving interface down", "shared_instance", attached, "interface", i.Name())
			continue
		}
		if err := i.Start(ctx); err != nil {
			return fmt.Errorf("start interface %s: %w", i.Name(), err)
		}
	}
	for _, i := range n.ifs {
		if err := n.startRPC(ctx, i); err != nil {
			for _, r := range n.rpcs {
				_ = r.Close()
			}
			clear(n.rpcs)
			return err
		}
	}
	return nil
}

// startRPC starts the shared-instance RPC endpoint for i if it is a
// shared-instance interface that took the serving role. Called with n.mu
// held.
func (n *Node) startRPC(ctx context.Context, i iface.Interface) error {
	si, ok := i.(*iface.Shared)
	if !ok || si.Role() != iface.LocalServing {
		return nil
	}
	key, err := n.SharedRPCKey(si.Spec())
	if err != nil {
		return fmt.Errorf("shared instance %s: %w", si.Name(), err)
	}
	network, addr := iface.ControlAddress(si.Spec())
	r, err := shared.New(shared.Options{
		Network: network, Address: addr, Key: key, Transport: n.tr,
		Interfaces: func() []iface.Interface { return n.Interfaces() },
		Logger:     n.opts.Logger.With("component", "shared_rpc"),
	})
	if err == nil {
		err = r.Start(ctx)
	}
	if err != nil {
		return fmt.Errorf("shared instance %s: %w", si.Name(), err)
	}
	n.rpcs[i] = r
	return nil
}

// SharedRPCKey returns the RPC key of a shared-instance spec: its rpc_key,
// or the reference's derivation from the transport identity.
func (n *Node) SharedRPCKey(spec iface.Spec) ([]byte, error) {
	def, err := shared.DefaultKey(n.id)
	if err != nil {
		return nil, err
	}
	return shared.Key(spec, def)
}

// SharedClientConfig returns a reference config file that attaches Python
// programs (rnstatus, rnpath, NomadNet) to the named shared-instance
// interface, including its RPC key; ok is false if no such interface
// serves. Write it 0600 as "config" in a directory passed with --config.
func (n *Node) SharedClientConfig(name string) (cfg string, ok bool, err error) {
	for _, i := range n.Interfaces() {
		si, isShared := i.(*iface.Shared)
		if !isShared || si.Name() != name || si.Role() != iface.LocalServing {
			continue
		}
		key, err := n.SharedRPCKey(si.Spec())
		if err != nil {
			return "", false, err
		}
		return shared.ClientConfig(si.Spec(), key), true, nil
	}
	return "", false, nil
}
