package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/reticle-mesh/reticle/pkg/rns"
	"github.com/reticle-mesh/reticle/pkg/rns/iface"
	"github.com/reticle-mesh/reticle/pkg/store"
)

// Interface errors; the web layer maps them to HTTP statuses.
var (
	// ErrInvalidInterface wraps a one-line message naming the bad field.
	ErrInvalidInterface = errors.New("invalid interface")
	// ErrInterfaceNotFound means no interface has that id.
	ErrInterfaceNotFound = errors.New("interface not found")
	// ErrInterfaceReadOnly means the interface came from --interface and cannot be changed here.
	ErrInterfaceReadOnly = errors.New("interface is from the command line and read-only")
	// ErrInterfaceExists means another interface has that name.
	ErrInterfaceExists = errors.New("an interface with that name exists")
	// ErrPortInUse means a listener's address is taken (by another interface or program).
	ErrPortInUse = errors.New("address already in use")
)

// Interface sources.
const (
	SourceFlag   = "flag"
	SourceStored = "stored"
)

// secretMask replaces secret URI parameters in answers; sending it back keeps the stored secret.
const secretMask = "xxxxx"

// InterfaceInfo is one interface as the API and UI show it. The URI has its secrets masked.
type InterfaceInfo struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	URI        string    `json:"uri"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Peer       string    `json:"peer"`
	LastError  string    `json:"last_error"`
	IFAC       bool      `json:"ifac"`
	BytesIn    uint64    `json:"bytes_in"`
	BytesOut   uint64    `json:"bytes_out"`
	PacketsIn  uint64    `json:"packets_in"`
	PacketsOut uint64    `json:"packets_out"`
	RateIn     float64   `json:"rate_in"`
	RateOut    float64   `json:"rate_out"`
	Clients    int       `json:"clients"`
	Since      time.Time `json:"since,omitzero"`
	Source     string    `json:"source"`
	Enabled    bool      `json:"enabled"`
}

// InterfaceRequest creates or changes a stored interface. URI is in the --interface syntax; NetworkName
// and Passphrase, when set, replace the URI's IFAC parameters (so a form need not URL-encode them). On
// a change, nil fields stay as they are.
type InterfaceRequest struct {
	URI         *string `json:"uri"`
	Name        *string `json:"name"`
	Enabled     *bool   `json:"enabled"`
	NetworkName *string `json:"network_name"`
	Passphrase  *string `json:"passphrase"`
}

// NetworkOptions configure Network.
type NetworkOptions struct {
	// Flags are the --interface URIs the node was built with (shown read-only).
	Flags []string
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Network is the interface and path use cases: stored interfaces are started, changed and stopped on the
// running node at once and persisted in the store.
type Network struct {
	st    *store.Store
	node  *rns.Node
	log   *slog.Logger
	flags []iface.Spec

	mu      sync.Mutex // serialises changes; guards lastErr and rates
	lastErr map[string]string
	rates   map[string]rateSample
}

type rateSample struct {
	at              time.Time
	in, out         uint64
	rateIn, rateOut float64
}

// NewNetwork builds the use case; flags must already be valid (the node was built from them).
func NewNetwork(opts NetworkOptions, st *store.Store, node *rns.Node) (*Network, error) {
	if st == nil || node == nil {
		return nil, errors.New("new network: store and node are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Network{st: st, node: node, log: opts.Logger, lastErr: map[string]string{}, rates: map[string]rateSample{}}
	for _, u := range opts.Flags {
		s, err := iface.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("new network: %w", err)
		}
		n.flags = append(n.flags, s)
	}
	return n, nil
}

// Start starts the enabled stored interfaces on the running node. One that cannot start (a bad URI, a
// port in use) is reported in its last_error and left down, so one broken record cannot keep the
// appliance down. URIs are never logged: they may carry an IFAC passphrase.
func (n *Network) Start(ctx context.Context) error {
	recs, err := n.st.ListInterfaces(ctx)
	if err != nil {
		return fmt.Errorf("start interfaces: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range recs {
		if !r.Enabled {
			continue
		}
		if _, err := n.node.AddInterface(r.URI); err != nil {
			n.lastErr[r.Name] = oneLine(err)
			n.log.Warn("stored interface not started", "name", r.Name, "error", oneLine(err))
		}
	}
	return nil
}

// Close stops nothing itself: the node closes its interfaces.
func (n *Network) Close() error { return nil }

// ListInterfaces returns the --interface ones first, then the stored ones by id, with live state.
func (n *Network) ListInterfaces(ctx context.Context) ([]InterfaceInfo, error) {
	recs, err := n.st.ListInterfaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	out := make([]InterfaceInfo, 0, len(n.flags)+len(recs))
	for k, s := range n.flags {
		info := n.info(s, now)
		info.ID, info.Source, info.Enabled = "flag-"+strconv.Itoa(k+1), SourceFlag, true
		out = append(out, info)
	}
	for _, r := range recs {
		out = append(out, n.recordInfo(r, now))
	}
	return out, nil
}

// GetInterface returns one interface by id ("flag-N" or a stored id).
func (n *Network) GetInterface(ctx context.Context, id string) (InterfaceInfo, error) {
	all, err := n.ListInterfaces(ctx)
	if err != nil {
		return InterfaceInfo{}, err
	}
	for _, i := range all {
		if i.ID == id {
			return i, nil
		}
	}
	return InterfaceInfo{}, fmt.Errorf("%w: %q", ErrInterfaceNotFound, id)
}

// CreateInterface validates the request, starts the interface (unless enabled is false) and stores it.
// Nothing is stored if it cannot start.
func (n *Network) CreateInterface(ctx context.Context, req InterfaceRequest) (InterfaceInfo, error) {
	if req.URI == nil {
		return InterfaceInfo{}, fmt.Errorf("%w: uri is required", ErrInvalidInterface)
	}
	spec, err := buildSpec(*req.URI, req, iface.Spec{})
	if err != nil {
		return InterfaceInfo{}, err
	}
	enabled := req.Enabled == nil || *req.Enabled
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.nameFree(ctx, spec.Name, 0); err != nil {
		return InterfaceInfo{}, err
	}
	if enabled {
		if _, err := n.node.AddInterface(spec.String()); err != nil {
			return InterfaceInfo{}, nodeError(err, spec)
		}
	}
	rec := store.Interface{Name: spec.Name, URI: spec.String(), Enabled: enabled}
	if err := n.st.CreateInterface(ctx, &rec); err != nil {
		if enabled {
			_ = n.node.RemoveInterface(spec.Name)
		}
		if errors.Is(err, store.ErrConflict) {
			return InterfaceInfo{}, fmt.Errorf("%w: name %q", ErrInterfaceExists, spec.Name)
		}
		return InterfaceInfo{}, fmt.Errorf("create interface: %w", err)
	}
	delete(n.lastErr, spec.Name)
	n.log.Info("interface added", "name", spec.Name, "kind", string(spec.Kind), "enabled", enabled)
	return n.recordInfo(rec, time.Now()), nil
}

// UpdateInterface changes a stored interface's URI, name or enabled flag and applies it at once; if the
// new settings cannot start, the old ones stay (running and stored).
func (n *Network) UpdateInterface(ctx context.Context, id string, req InterfaceRequest) (InterfaceInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	rec, err := n.record(ctx, id)
	if err != nil {
		return InterfaceInfo{}, err
	}
	old, err := iface.Parse(rec.URI)
	if err != nil {
		old = iface.Spec{}
	}
	uri := rec.URI
	if req.URI != nil {
		uri = *req.URI
	}
	if req.Name == nil && req.URI == nil {
		name := rec.Name
		req.Name = &name
	}
	spec, err := buildSpec(uri, req, old)
	if err != nil {
		return InterfaceInfo{}, err
	}
	if err := n.nameFree(ctx, spec.Name, rec.ID); err != nil {
		return InterfaceInfo{}, err
	}
	enabled := rec.Enabled
	if req.Enabled != nil {
		enabled = *req.Enabled
	}
	_, running := n.node.Interface(rec.Name)
	switch {
	case running && enabled:
		if spec.String() != rec.URI {
			if _, err := n.node.UpdateInterface(rec.Name, spec.String()); err != nil {
				return InterfaceInfo{}, nodeError(err, spec)
			}
		}
	case running && !enabled:
		if err := n.node.RemoveInterface(rec.Name); err != nil {
			n.log.Warn("closing disabled interface", "name", rec.Name, "error", oneLine(err))
		}
	case !running && enabled:
		if _, err := n.node.AddInterface(spec.String()); err != nil {
			return InterfaceInfo{}, nodeError(err, spec)
		}
	}
	prev := rec
	rec.Name, rec.URI, rec.Enabled = spec.Name, spec.String(), enabled
	if err := n.st.UpdateInterface(ctx, &rec); err != nil {
		// Put the node back the way the store still has it.
		_ = n.node.RemoveInterface(spec.Name)
		if prev.Enabled {
			_, _ = n.node.AddInterface(prev.URI)
		}
		if errors.Is(err, store.ErrConflict) {
			return InterfaceInfo{}, fmt.Errorf("%w: name %q", ErrInterfaceExists, spec.Name)
		}
		return InterfaceInfo{}, fmt.Errorf("update interface: %w", err)
	}
	delete(n.lastErr, prev.Name)
	n.log.Info("interface changed", "name", rec.Name, "kind", string(spec.Kind), "enabled", enabled)
	return n.recordInfo(rec, time.Now()), nil
}

// DeleteInterface stops a stored interface and removes its record.
func (n *Network) DeleteInterface(ctx context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	rec, err := n.record(ctx, id)
	if err != nil {
		return err
	}
	if err := n.st.DeleteInterface(ctx, rec.ID); err != nil {
		return fmt.Errorf("delete interface: %w", err)
	}
	if _, ok := n.node.Interface(rec.Name); ok {
		if err := n.node.RemoveInterface(rec.Name); err != nil {
			n.log.Warn("closing removed interface", "name", rec.Name, "error", oneLine(err))
		}
	}
	delete(n.lastErr, rec.Name)
	delete(n.rates, rec.Name)
	n.log.Info("interface removed", "name", rec.Name)
	return nil
}

// record finds a stored record by API id; flag ids are read-only. Called with n.mu held.
func (n *Network) record(ctx context.Context, id string) (store.Interface, error) {
	if strings.HasPrefix(id, "flag-") {
		return store.Interface{}, ErrInterfaceReadOnly
	}
	num, err := strconv.ParseInt(id, 10, 64)
	if err != nil || num < 1 {
		return store.Interface{}, fmt.Errorf("%w: %q", ErrInterfaceNotFound, id)
	}
	rec, err := n.st.GetInterface(ctx, num)
	if errors.Is(err, store.ErrNotFound) {
		return store.Interface{}, fmt.Errorf("%w: %q", ErrInterfaceNotFound, id)
	}
	return rec, err
}

// nameFree checks that no --interface and no other record (than self) uses name. Called with n.mu held.
func (n *Network) nameFree(ctx context.Context, name string, self int64) error {
	for _, f := range n.flags {
		if f.Name == name {
			return fmt.Errorf("%w: name %q is used by an --interface flag", ErrInterfaceExists, name)
		}
	}
	recs, err := n.st.ListInterfaces(ctx)
	if err != nil {
		return fmt.Errorf("check interface name: %w", err)
	}
	for _, r := range recs {
		if r.Name == name && r.ID != self {
			return fmt.Errorf("%w: name %q", ErrInterfaceExists, name)
		}
	}
	return nil
}

func (n *Network) recordInfo(r store.Interface, now time.Time) InterfaceInfo {
	s, err := iface.Parse(r.URI)
	if err != nil {
		return InterfaceInfo{ID: strconv.FormatInt(r.ID, 10), Name: r.Name, State: "down", Source: SourceStored,
			Enabled: r.Enabled, LastError: "stored uri is invalid"}
	}
	info := n.info(s, now)
	info.ID, info.Source, info.Enabled = strconv.FormatInt(r.ID, 10), SourceStored, r.Enabled
	return info
}

// info fills the live part of an InterfaceInfo. Called with n.mu held.
func (n *Network) info(s iface.Spec, now time.Time) InterfaceInfo {
	info := InterfaceInfo{Name: s.Name, URI: maskedURI(s), Kind: string(s.Kind), State: "down", IFAC: s.HasIFAC(),
		LastError: n.lastErr[s.Name], Peer: peerOf(s)}
	i, ok := n.node.Interface(s.Name)
	if !ok {
		return info
	}
	st := i.Stats()
	info.State, info.Clients, info.Since = st.State, st.Clients, st.Since
	if info.LastError == "" && st.LastError != "" && st.State != "up" {
		info.LastError = oneLine(errors.New(st.LastError))
	}
	info.BytesIn, info.BytesOut, info.PacketsIn, info.PacketsOut = st.BytesIn, st.BytesOut, st.PacketsIn, st.PacketsOut
	if a := n.node.ListenAddr(s.Name); a != nil {
		info.Peer = a.String()
	}
	r, seen := n.rates[s.Name]
	if !seen || st.BytesIn < r.in || st.BytesOut < r.out {
		r = rateSample{at: now, in: st.BytesIn, out: st.BytesOut}
	} else if dt := now.Sub(r.at).Seconds(); dt >= 1 {
		r = rateSample{at: now, in: st.BytesIn, out: st.BytesOut,
			rateIn: float64(st.BytesIn-r.in) / dt, rateOut: float64(st.BytesOut-r.out) / dt}
	}
	n.rates[s.Name] = r
	info.RateIn, info.RateOut = r.rateIn, r.rateOut
	return info
}

// peerOf is the address an interface talks to or listens on, from its URI.
func peerOf(s iface.Spec) string {
	switch s.Kind {
	case iface.KindTCPClient, iface.KindTCPServer:
		return s.Address()
	case iface.KindUDP:
		if s.Forward != "" {
			return s.Forward
		}
		return s.Address()
	case iface.KindAuto:
		if s.Devices != "" {
			return s.Devices
		}
		return "LAN (" + s.GroupID + ")"
	case iface.KindShared:
		return s.SharedType + ":" + s.Host
	}
	return ""
}

// maskedURI is the URI with IFAC network name, passphrase and RPC key replaced by secretMask.
func maskedURI(s iface.Spec) string {
	if s.NetworkName != "" {
		s.NetworkName = secretMask
	}
	if s.Passphrase != "" {
		s.Passphrase = secretMask
	}
	if s.RPCKey != "" {
		s.RPCKey = secretMask
	}
	return s.String()
}

// buildSpec parses uri and applies the request's name and IFAC fields; a masked secret keeps the one of
// old. Errors name the field in one line and never contain a secret.
func buildSpec(uri string, req InterfaceRequest, old iface.Spec) (iface.Spec, error) {
	if len(uri) > 2048 {
		return iface.Spec{}, fmt.Errorf("%w: uri must be at most 2048 characters", ErrInvalidInterface)
	}
	s, err := iface.Parse(uri)
	if err != nil {
		return iface.Spec{}, fmt.Errorf("%w: uri: %s", ErrInvalidInterface, uriProblem(err))
	}
	if s.NetworkName == secretMask {
		s.NetworkName = old.NetworkName
	}
	if s.Passphrase == secretMask {
		s.Passphrase = old.Passphrase
	}
	if s.RPCKey == secretMask {
		s.RPCKey = old.RPCKey
	}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if name != "" {
			if len(name) > 64 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
				return iface.Spec{}, fmt.Errorf("%w: name must be 1 to 64 printable characters", ErrInvalidInterface)
			}
			s.Name = name
		}
	}
	for _, f := range []struct {
		field string
		v     *string
		dst   *string
	}{{"network_name", req.NetworkName, &s.NetworkName}, {"passphrase", req.Passphrase, &s.Passphrase}} {
		if f.v == nil || *f.v == secretMask {
			continue
		}
		if len(*f.v) > 256 || strings.IndexFunc(*f.v, unicode.IsControl) >= 0 {
			return iface.Spec{}, fmt.Errorf("%w: %s must be at most 256 printable characters", ErrInvalidInterface, f.field)
		}
		*f.dst = *f.v
	}
	if s.Kind == iface.KindShared && s.HasIFAC() {
		return iface.Spec{}, fmt.Errorf("%w: network_name and passphrase are not used on a shared instance", ErrInvalidInterface)
	}
	// Round-trip: what is stored must parse back to the same interface.
	if _, err := iface.Parse(s.String()); err != nil {
		return iface.Spec{}, fmt.Errorf("%w: uri: %s", ErrInvalidInterface, uriProblem(err))
	}
	return s, nil
}

// uriProblem is the problem part of an iface.Parse error, without the URI it quotes (which may hold an
// IFAC network name).
func uriProblem(err error) string {
	msg := oneLine(err)
	for k := 1; k+2 < len(msg); k++ {
		if msg[k] == '"' && msg[k-1] != '\\' && msg[k+1] == ':' && msg[k+2] == ' ' {
			return msg[k+3:]
		}
	}
	return strings.TrimPrefix(msg, iface.ErrBadURI.Error()+" ")
}

// nodeError maps a node start failure to the app's errors, in one line.
func nodeError(err error, s iface.Spec) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("uri: %s: %w", peerOf(s), ErrPortInUse)
	case errors.Is(err, rns.ErrDuplicateInterface):
		return fmt.Errorf("%w: %s", ErrInterfaceExists, oneLine(err))
	case errors.Is(err, iface.ErrBadURI):
		return fmt.Errorf("%w: uri: %s", ErrInvalidInterface, uriProblem(err))
	}
	return fmt.Errorf("%w: %s", ErrInvalidInterface, oneLine(err))
}

// oneLine flattens an error message to a single line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
