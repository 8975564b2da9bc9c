package plugins

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// Options are the host's limits; zero fields take the defaults.
type Options struct {
	MaxModuleBytes int           // default 16 MiB
	MaxMemoryPages uint32        // 64 KiB pages, default 256 (16 MiB)
	CallTimeout    time.Duration // default 2 s
	MaxConcurrency int           // per plugin, default 4
	MaxOutputBytes int           // default 256 KiB
	MaxFailures    int           // consecutive failures before auto-disable, default 5
	SendsPerMinute int           // default 30
	KVQuotaBytes   int64         // per plugin, default 1 MiB
	QueueSize      int           // inbound messages waiting for delivery, default 256
	Logger         *slog.Logger
	Now            func() time.Time

	cache wazero.CompilationCache // tests share one across managers
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxModuleBytes, DefaultMaxModuleBytes)
	def(&o.MaxConcurrency, 4)
	def(&o.MaxOutputBytes, 256<<10)
	def(&o.MaxFailures, 5)
	def(&o.SendsPerMinute, 30)
	def(&o.QueueSize, 256)
	if o.MaxMemoryPages == 0 {
		o.MaxMemoryPages = 256
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Second
	}
	if o.KVQuotaBytes <= 0 {
		o.KVQuotaBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Manager is the registry: it installs verified packages, keeps grants and the enabled flag in
// [Records], runs enabled plugins and delivers events to them.
type Manager struct {
	opts  Options
	rec   Records
	host  Host
	log   *slog.Logger
	now   func() time.Time
	cache wazero.CompilationCache

	mu      sync.Mutex
	loaded  map[string]*plugin
	closed  bool
	inbox   chan Message
	done    chan struct{}
	dropped uint64
}

// New builds a Manager; Start loads the enabled plugins.
func New(opts Options, rec Records, host Host) (*Manager, error) {
	if rec == nil {
		return nil, errors.New("plugins: records are required")
	}
	opts.defaults()
	cache := opts.cache
	if cache == nil {
		cache = wazero.NewCompilationCache() // in memory only: an on-disk cache would be a code-injection route
	}
	return &Manager{
		opts: opts, rec: rec, host: host, log: opts.Logger, now: opts.Now, cache: cache,
		loaded: map[string]*plugin{}, inbox: make(chan Message, opts.QueueSize), done: make(chan struct{}),
	}, nil
}

// Start loads every enabled plugin (one that no longer verifies or loads is disabled with the reason)
// and starts delivering messages.
func (mg *Manager) Start(ctx context.Context) error {
	recs, err := mg.rec.ListPlugins(ctx)
	if err != nil {
		return fmt.Errorf("list plugins: %w", err)
	}
	for _, r := range recs {
		if !r.Enabled {
			continue
		}
		if err := mg.activate(ctx, r); err != nil {
			mg.log.Warn("plugin not loaded", "plugin", r.ID, "err", err)
			_ = mg.rec.SetEnabled(ctx, r.ID, false, err.Error())
			mg.audit(ctx, r.ID, EventRefused, "not loaded at start: "+err.Error())
		}
	}
	go mg.deliverLoop() //nolint:gosec // delivery outlives Start's context; Close ends it
	return nil
}

// Close stops delivery and closes every plugin.
func (mg *Manager) Close() error {
	mg.mu.Lock()
	if mg.closed {
		mg.mu.Unlock()
		return nil
	}
	mg.closed = true
	ps := mg.loaded
	mg.loaded = map[string]*plugin{}
	close(mg.inbox)
	mg.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
	return nil
}

func (mg *Manager) audit(ctx context.Context, id, event, detail string) {
	if len(detail) > 500 {
		detail = detail[:500]
	}
	mg.log.Info("plugin audit", "plugin", id, "event", event, "detail", detail)
	if err := mg.rec.AddAudit(context.WithoutCancel(ctx), AuditEntry{PluginID: id, Event: event, Detail: detail, At: mg.now().UTC()}); err != nil {
		mg.log.Warn("plugin audit not stored", "plugin", id, "err", err)
	}
}

// Info is what the API shows about a plugin.
type Info struct {
	ID             string       `json:"id"`
	Version        string       `json:"version"`
	Manifest       Manifest     `json:"manifest"`
	WasmSHA256     string       `json:"wasm_sha256"`
	WasmBytes      int          `json:"wasm_bytes"`
	PublisherKeyID string       `json:"publisher_key_id"`
	PublisherName  string       `json:"publisher_name,omitempty"`
	Enabled        bool         `json:"enabled"`
	Running        bool         `json:"running"`
	DisabledReason string       `json:"disabled_reason,omitempty"`
	Requested      []Capability `json:"requested_capabilities"`
	Granted        []Capability `json:"granted_capabilities"`
	InstalledAt    time.Time    `json:"installed_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Stats          Stats        `json:"stats"`
}

func (mg *Manager) info(ctx context.Context, r Record) Info {
	m, _ := ParseManifest(r.Manifest)
	in := Info{
		ID: r.ID, Version: r.Version, Manifest: m, WasmSHA256: r.WasmSHA256, WasmBytes: len(r.Wasm),
		PublisherKeyID: r.PublisherKeyID, Enabled: r.Enabled, DisabledReason: r.DisabledReason,
		Requested: m.Capabilities, Granted: r.Grants, InstalledAt: r.InstalledAt, UpdatedAt: r.UpdatedAt,
	}
	if in.Requested == nil {
		in.Requested = []Capability{}
	}
	if in.Granted == nil {
		in.Granted = []Capability{}
	}
	if keys, err := mg.rec.TrustedKeys(ctx); err == nil {
		for _, k := range keys {
			if k.ID == r.PublisherKeyID {
				in.PublisherName = k.Name
			}
		}
	}
	mg.mu.Lock()
	p := mg.loaded[r.ID]
	mg.mu.Unlock()
	if p != nil {
		in.Running = true
		in.Stats, _ = p.snapshot()
	}
	return in
}

// Install verifies a package (signature before anything is compiled, then no downgrade) and stores
// it disabled and without grants, so the owner sees what it asks for before granting anything. An
// upgrade of an installed plugin replaces it and disables it until its new version is granted.
func (mg *Manager) Install(ctx context.Context, pkg []byte) (Info, error) {
	p, err := ReadPackage(pkg, mg.opts.MaxModuleBytes)
	if err != nil {
		mg.audit(ctx, "", EventRefused, err.Error())
		return Info{}, err
	}
	refuse := func(err error) (Info, error) {
		mg.audit(ctx, p.Manifest.ID, EventRefused, err.Error())
		return Info{}, err
	}
	keys, err := mg.rec.TrustedKeys(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("trusted keys: %w", err)
	}
	if _, err := p.Verify(keys); err != nil {
		return refuse(err)
	}
	old, err := mg.rec.GetPlugin(ctx, p.Manifest.ID)
	switch {
	case err == nil:
		if CompareVersions(p.Manifest.Version, old.Version) <= 0 {
			return refuse(fmt.Errorf("%w: %s %s is installed, the package is %s", ErrDowngrade, old.ID, old.Version, p.Manifest.Version))
		}
	case !errors.Is(err, ErrNotFound):
		return Info{}, fmt.Errorf("get plugin: %w", err)
	}
	// Compile once without grants-independent checks only: imports are checked at enable time against
	// the grants, but a module that does not compile at all is refused now.
	if err := mg.compileCheck(ctx, p.Wasm); err != nil {
		return refuse(err)
	}
	now := mg.now().UTC()
	r := Record{
		ID: p.Manifest.ID, Version: p.Manifest.Version, Manifest: p.ManifestBytes, Wasm: p.Wasm,
		Signature: p.Signature, WasmSHA256: WasmSHA256(p.Wasm), PublisherKeyID: p.Manifest.PublisherKeyID,
		InstalledAt: now, UpdatedAt: now,
	}
	mg.unload(r.ID)
	if err := mg.rec.PutPlugin(ctx, r); err != nil {
		return Info{}, fmt.Errorf("store plugin: %w", err)
	}
	mg.audit(ctx, r.ID, EventInstall, fmt.Sprintf("version %s, wasm sha256 %s, publisher %s, requests %s",
		r.Version, r.WasmSHA256, r.PublisherKeyID, capList(p.Manifest.Capabilities)))
	return mg.info(ctx, r), nil
}

func (mg *Manager) compileCheck(ctx context.Context, wasm []byte) error {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(mg.cache).
		WithMemoryLimitPages(mg.opts.MaxMemoryPages))
	defer func() { _ = rt.Close(context.Background()) }()
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		return fmt.Errorf("%w: %v", ErrBadModule, err) //nolint:errorlint // text only
	}
	return nil
}

func capList(cs []Capability) string {
	if len(cs) == 0 {
		return "nothing"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// List returns every installed plugin.
func (mg *Manager) List(ctx context.Context) ([]Info, error) {
	recs, err := mg.rec.ListPlugins(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(recs))
	for _, r := range recs {
		out = append(out, mg.info(ctx, r))
	}
	return out, nil
}

// Get returns one plugin.
func (mg *Manager) Get(ctx context.Context, id string) (Info, error) {
	r, err := mg.rec.GetPlugin(ctx, id)
	if err != nil {
		return Info{}, err
	}
	return mg.info(ctx, r), nil
}

// ErrInvalidGrant is returned for a capability the manifest did not request or that does not exist.
var ErrInvalidGrant = errors.New("capability is not requested by the plugin")

// SetGrants replaces the grants of the installed version with caps (each must be requested by the
// manifest). A running plugin is reloaded with them, or disabled if it no longer loads.
func (mg *Manager) SetGrants(ctx context.Context, id string, caps []Capability) (Info, error) {
	r, err := mg.rec.GetPlugin(ctx, id)
	if err != nil {
		return Info{}, err
	}
	m, err := ParseManifest(r.Manifest)
	if err != nil {
		return Info{}, err
	}
	var clean []Capability
	for _, c := range caps {
		if !m.Requests(c) {
			return Info{}, fmt.Errorf("%w: %q", ErrInvalidGrant, c)
		}
		if !slices.Contains(clean, c) {
			clean = append(clean, c)
		}
	}
	if err := mg.rec.SetGrants(ctx, id, r.Version, clean); err != nil {
		return Info{}, err
	}
	for _, c := range clean {
		if !slices.Contains(r.Grants, c) {
			mg.audit(ctx, id, EventGrant, fmt.Sprintf("%s for version %s", c, r.Version))
		}
	}
	for _, c := range r.Grants {
		if !slices.Contains(clean, c) {
			mg.audit(ctx, id, EventRevoke, fmt.Sprintf("%s for version %s", c, r.Version))
		}
	}
	r.Grants = clean
	if r.Enabled {
		mg.unload(id)
		if err := mg.activate(ctx, r); err != nil {
			_ = mg.rec.SetEnabled(ctx, id, false, err.Error())
			mg.audit(ctx, id, EventDisable, "no longer loads with its grants: "+err.Error())
			r.Enabled, r.DisabledReason = false, err.Error()
		}
	}
	return mg.info(ctx, r), nil
}

// SetEnabled enables (verify, load with its grants) or disables a plugin.
func (mg *Manager) SetEnabled(ctx context.Context, id string, enabled bool) (Info, error) {
	r, err := mg.rec.GetPlugin(ctx, id)
	if err != nil {
		return Info{}, err
	}
	if !enabled {
		mg.unload(id)
		if err := mg.rec.SetEnabled(ctx, id, false, "disabled by the owner"); err != nil {
			return Info{}, err
		}
		mg.audit(ctx, id, EventDisable, "by the owner")
		r.Enabled, r.DisabledReason = false, "disabled by the owner"
		return mg.info(ctx, r), nil
	}
	mg.unload(id)
	if err := mg.activate(ctx, r); err != nil {
		mg.audit(ctx, id, EventDenied, "enable refused: "+err.Error())
		return Info{}, err
	}
	if err := mg.rec.SetEnabled(ctx, id, true, ""); err != nil {
		mg.unload(id)
		return Info{}, err
	}
	mg.audit(ctx, id, EventEnable, "grants "+capList(r.Grants))
	r.Enabled, r.DisabledReason = true, ""
	return mg.info(ctx, r), nil
}

// Remove unloads and deletes a plugin with its grants and kv data.
func (mg *Manager) Remove(ctx context.Context, id string) error {
	if _, err := mg.rec.GetPlugin(ctx, id); err != nil {
		return err
	}
	mg.unload(id)
	if err := mg.rec.DeletePlugin(ctx, id); err != nil {
		return err
	}
	mg.audit(ctx, id, EventRemove, "")
	return nil
}

// activate re-verifies the stored package against the trusted keys and loads it with its grants.
func (mg *Manager) activate(ctx context.Context, r Record) error {
	m, err := ParseManifest(r.Manifest)
	if err != nil {
		return err
	}
	keys, err := mg.rec.TrustedKeys(ctx)
	if err != nil {
		return fmt.Errorf("trusted keys: %w", err)
	}
	if _, err := verifySignature(m.PublisherKeyID, r.Manifest, r.Wasm, r.Signature, keys); err != nil {
		return err
	}
	p, err := mg.load(ctx, m, r.Wasm, r.Grants)
	if err != nil {
		return err
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if mg.closed {
		p.close()
		return errors.New("plugins: closed")
	}
	if old := mg.loaded[r.ID]; old != nil {
		old.close()
	}
	mg.loaded[r.ID] = p
	return nil
}

func (mg *Manager) unload(id string) {
	mg.mu.Lock()
	p := mg.loaded[id]
	delete(mg.loaded, id)
	mg.mu.Unlock()
	if p != nil {
		p.close()
	}
}

func (mg *Manager) autoDisable(p *plugin, reason string) {
	mg.mu.Lock()
	if mg.loaded[p.id] == p {
		delete(mg.loaded, p.id)
	}
	mg.mu.Unlock()
	go p.close() // the failing call still holds an instance; closing waits for nothing
	ctx := context.Background()
	if err := mg.rec.SetEnabled(ctx, p.id, false, "auto-disabled: "+reason); err != nil {
		mg.log.Warn("plugin auto-disable not stored", "plugin", p.id, "err", err)
	}
	mg.audit(ctx, p.id, EventAutoDisable, reason)
}

// Logs returns the plugin's recent log lines (in memory) and its audit trail (stored).
func (mg *Manager) Logs(ctx context.Context, id string, limit int) ([]LogLine, []AuditEntry, error) {
	if _, err := mg.rec.GetPlugin(ctx, id); err != nil {
		return nil, nil, err
	}
	var lines []LogLine
	mg.mu.Lock()
	p := mg.loaded[id]
	mg.mu.Unlock()
	if p != nil {
		_, lines = p.snapshot()
	}
	audit, err := mg.rec.ListAudit(ctx, id, limit)
	if lines == nil {
		lines = []LogLine{}
	}
	return lines, audit, err
}

// Audit returns the most recent audit entries of every plugin (pluginID "" = all).
func (mg *Manager) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	return mg.rec.ListAudit(ctx, "", limit)
}

// TrustedKeys lists the publisher keys the owner trusts.
func (mg *Manager) TrustedKeys(ctx context.Context) ([]PublisherKey, error) {
	return mg.rec.TrustedKeys(ctx)
}

// ErrInvalidKey is returned for a publisher key that is neither kind.
var ErrInvalidKey = errors.New("publisher key must be a 32-byte ed25519 public key or a cosign (ECDSA P-256) public key in PEM")

// TrustKey adds a publisher key: 32 bytes are an ed25519 key, anything else must be a cosign public
// key in PEM.
func (mg *Manager) TrustKey(ctx context.Context, name string, pub []byte) (PublisherKey, error) {
	if len(name) > 100 {
		name = name[:100]
	}
	k := PublisherKey{Name: name, Added: mg.now().Unix()}
	if len(pub) == ed25519.PublicKeySize {
		k.ID, k.Key = KeyID(pub), append([]byte(nil), pub...)
	} else {
		id, norm, err := CosignKeyID(pub)
		if err != nil {
			return PublisherKey{}, err
		}
		k.ID, k.Key = id, norm
	}
	if err := mg.rec.AddTrustedKey(ctx, k); err != nil {
		return PublisherKey{}, err
	}
	mg.audit(ctx, "", EventKeyTrusted, fmt.Sprintf("%s (%s)", k.ID, name))
	return k, nil
}

// UntrustKey removes a publisher key; plugins signed with it no longer load (running ones keep
// running until they are reloaded).
func (mg *Manager) UntrustKey(ctx context.Context, id string) error {
	if err := mg.rec.DeleteTrustedKey(ctx, id); err != nil {
		return err
	}
	mg.audit(ctx, "", EventKeyUntrusted, id)
	return nil
}

// Message is an inbound LXMF message as a plugin's on_message receives it (JSON).
type Message struct {
	ID          string `json:"id"`
	Source      string `json:"source"`      // the sender's LXMF address, hex
	Destination string `json:"destination"` // ours, hex
	Title       string `json:"title"`
	Content     string `json:"content"`
	Timestamp   int64  `json:"timestamp"` // unix seconds
	Verified    bool   `json:"verified"`  // the sender's signature was checked against its identity
}

// maxInput caps what on_message and serve_page get as input.
const maxInput = 64 << 10

// Deliver queues an inbound message for every enabled plugin granted messages.read. It never blocks:
// when the queue is full the message is dropped for plugins (it is stored regardless) and counted.
func (mg *Manager) Deliver(msg Message) {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if mg.closed {
		return
	}
	select {
	case mg.inbox <- msg:
	default:
		mg.dropped++
		mg.log.Warn("plugin inbox full, message not delivered to plugins", "dropped", mg.dropped)
	}
}

func (mg *Manager) deliverLoop() {
	for msg := range mg.inbox {
		_ = mg.DeliverNow(context.Background(), msg)
	}
}

// DeliverNow calls on_message of every enabled plugin granted messages.read, one after the other, and
// returns the errors joined.
func (mg *Manager) DeliverNow(ctx context.Context, msg Message) error {
	in, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if len(in) > maxInput {
		return fmt.Errorf("message of %d bytes is above the plugin input cap", len(in))
	}
	var errs []error
	for _, p := range mg.running(EntryOnMessage) {
		if _, err := p.call(ctx, EntryOnMessage, in); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.id, err))
		}
	}
	return errors.Join(errs...)
}

func (mg *Manager) running(entry string) []*plugin {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	var ps []*plugin
	for _, p := range mg.loaded {
		if p.has(entry) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *plugin) int { return strings.Compare(a.id, b.id) })
	return ps
}

// PageRequest is what serve_page gets (JSON).
type PageRequest struct {
	Path     string            `json:"path"`
	Form     map[string]string `json:"form,omitempty"`
	RemoteID string            `json:"remote_identity,omitempty"` // hex, when the requester identified
}

// ErrNoPage is returned when no enabled plugin serves the path.
var ErrNoPage = errors.New("no plugin serves this page")

// PagePrefixes returns the page_prefix of every running plugin that may serve pages.
func (mg *Manager) PagePrefixes() []string {
	var out []string
	for _, p := range mg.running(EntryServePage) {
		out = append(out, p.manifest.PagePrefix)
	}
	return out
}

// ServePage answers a NomadNet page request with the micron bytes of the plugin whose page_prefix is
// the longest match of req.Path.
func (mg *Manager) ServePage(ctx context.Context, req PageRequest) ([]byte, error) {
	var best *plugin
	for _, p := range mg.running(EntryServePage) {
		pre := p.manifest.PagePrefix
		if (req.Path == pre || strings.HasPrefix(req.Path, strings.TrimSuffix(pre, "/")+"/")) &&
			(best == nil || len(pre) > len(best.manifest.PagePrefix)) {
			best = p
		}
	}
	if best == nil {
		return nil, ErrNoPage
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if len(in) > maxInput {
		return nil, fmt.Errorf("page request of %d bytes is above the plugin input cap", len(in))
	}
	return best.call(ctx, EntryServePage, in)
}
