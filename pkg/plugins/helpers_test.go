package plugins

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// memRecords is an in-memory Records for tests.
type memRecords struct {
	mu      sync.Mutex
	plugins map[string]Record
	grants  map[string][]Capability // id@version
	keys    []PublisherKey
	audit   []AuditEntry
	kv      map[string]map[string][]byte
}

func newMemRecords() *memRecords {
	return &memRecords{plugins: map[string]Record{}, grants: map[string][]Capability{}, kv: map[string]map[string][]byte{}}
}

func (r *memRecords) PutPlugin(_ context.Context, p Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.Grants = nil
	r.plugins[p.ID] = p
	return nil
}

func (r *memRecords) GetPlugin(_ context.Context, id string) (Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.plugins[id]
	if !ok {
		return Record{}, fmt.Errorf("plugin %q: %w", id, ErrNotFound)
	}
	p.Grants = slices.Clone(r.grants[id+"@"+p.Version])
	return p, nil
}

func (r *memRecords) ListPlugins(ctx context.Context) ([]Record, error) {
	r.mu.Lock()
	var ids []string
	for id := range r.plugins {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	slices.Sort(ids)
	var out []Record
	for _, id := range ids {
		p, _ := r.GetPlugin(ctx, id)
		out = append(out, p)
	}
	return out, nil
}

func (r *memRecords) DeletePlugin(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.plugins, id)
	delete(r.kv, id)
	return nil
}

func (r *memRecords) SetEnabled(_ context.Context, id string, enabled bool, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.plugins[id]
	if !ok {
		return ErrNotFound
	}
	p.Enabled, p.DisabledReason = enabled, reason
	r.plugins[id] = p
	return nil
}

func (r *memRecords) SetGrants(_ context.Context, id, version string, caps []Capability) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.grants[id+"@"+version] = slices.Clone(caps)
	return nil
}

func (r *memRecords) TrustedKeys(context.Context) ([]PublisherKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys), nil
}

func (r *memRecords) AddTrustedKey(_ context.Context, k PublisherKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, k)
	return nil
}

func (r *memRecords) DeleteTrustedKey(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = slices.DeleteFunc(r.keys, func(k PublisherKey) bool { return k.ID == id })
	return nil
}

func (r *memRecords) AddAudit(_ context.Context, e AuditEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.ID = int64(len(r.audit) + 1)
	r.audit = append(r.audit, e)
	return nil
}

func (r *memRecords) ListAudit(_ context.Context, id string, limit int) ([]AuditEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []AuditEntry
	for i := len(r.audit) - 1; i >= 0 && len(out) < limit; i-- {
		if id == "" || r.audit[i].PluginID == id {
			out = append(out, r.audit[i])
		}
	}
	return out, nil
}

func (r *memRecords) events(id, event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.audit {
		if e.PluginID == id && e.Event == event {
			n++
		}
	}
	return n
}

func (r *memRecords) KVGet(_ context.Context, id, key string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.kv[id][key]
	return v, ok, nil
}

func (r *memRecords) KVSet(_ context.Context, id, key string, value []byte, quota int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.kv[id]
	if m == nil {
		m = map[string][]byte{}
		r.kv[id] = m
	}
	var used int64
	for k, v := range m {
		if k != key {
			used += int64(len(k) + len(v))
		}
	}
	if used+int64(len(key)+len(value)) > quota {
		return ErrQuota
	}
	m[key] = slices.Clone(value)
	return nil
}

func (r *memRecords) KVDelete(_ context.Context, id, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.kv[id], key)
	return nil
}

// fakeHost records sends.
type fakeHost struct {
	mu    sync.Mutex
	sends []string
}

func (h *fakeHost) SendMessage(_ context.Context, _, dest, content string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sends = append(h.sends, dest+":"+content)
	return nil
}

func (h *fakeHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sends)
}

// sharedCache keeps compiled test modules across managers (compiling a Go module takes seconds here).
var sharedCache = wazero.NewCompilationCache()

type fixture struct {
	t    testing.TB
	mg   *Manager
	rec  *memRecords
	host *fakeHost
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	base := runtime.NumGoroutine()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, host := newMemRecords(), &fakeHost{}
	opts.cache = sharedCache
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 5 * time.Second
	}
	mg, err := New(opts, rec, host)
	if err != nil {
		t.Fatal(err)
	}
	if err := mg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, mg: mg, rec: rec, host: host, pub: pub, priv: priv}
	if _, err := mg.TrustKey(context.Background(), "test publisher", pub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = mg.Close()
		waitGoroutines(t, base)
	})
	return f
}

// waitGoroutines fails if the goroutine count does not come back to base (bounded wait: wazero's
// close-on-done watchers end asynchronously).
func waitGoroutines(t testing.TB, base int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("goroutines: %d, baseline %d", runtime.NumGoroutine(), base)
}

func manifestJSON(t testing.TB, m Manifest) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) manifest(id, version string, caps ...Capability) Manifest {
	entries := []string{}
	if slices.Contains(caps, CapMessagesRead) {
		entries = append(entries, EntryOnMessage)
	}
	m := Manifest{ID: id, Version: version, ABI: 1, EntryPoints: entries, Capabilities: caps, PublisherKeyID: KeyID(f.pub)}
	if slices.Contains(caps, CapPagesServe) {
		m.EntryPoints = append(m.EntryPoints, EntryServePage)
		m.PagePrefix = "/page/" + id
	}
	return m
}

// pkg builds a signed package.
func (f *fixture) pkg(m Manifest, wasm []byte) []byte {
	f.t.Helper()
	mb := manifestJSON(f.t, m)
	b, err := BuildPackage(mb, wasm, Sign(f.priv, mb, wasm))
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// installEnabled installs, grants caps and enables.
func (f *fixture) installEnabled(m Manifest, wasm []byte, caps ...Capability) error {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.mg.Install(ctx, f.pkg(m, wasm)); err != nil {
		f.t.Fatalf("install: %v", err)
	}
	if _, err := f.mg.SetGrants(ctx, m.ID, caps); err != nil {
		f.t.Fatalf("grant: %v", err)
	}
	_, err := f.mg.SetEnabled(ctx, m.ID, true)
	return err
}

var (
	goBuildMu    sync.Mutex
	goBuildCache = map[string][]byte{}
)

// buildGo builds a Go plugin for wasip1 once per test binary.
func buildGo(t testing.TB, dir string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("building a Go plugin is slow")
	}
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	if b, ok := goBuildCache[dir]; ok {
		return b
	}
	out := filepath.Join(t.TempDir(), "plugin.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", dir, err, b)
	}
	b, err := os.ReadFile(out) //nolint:gosec // our temp file
	if err != nil {
		t.Fatal(err)
	}
	goBuildCache[dir] = b
	return b
}
