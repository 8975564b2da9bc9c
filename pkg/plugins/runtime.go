package plugins

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/time/rate"
)

// Errors of loading and calling.
var (
	ErrNotGranted = errors.New("plugin imports a host function of a capability it was not granted")
	ErrBadImport  = errors.New("plugin imports something this host does not provide")
	ErrBadModule  = errors.New("plugin module does not compile or instantiate")
	ErrBusy       = errors.New("plugin is at its concurrency limit")
	ErrCallFailed = errors.New("plugin call failed")
	ErrTimeout    = errors.New("plugin call passed its deadline")
)

// limits are the effective limits of one plugin: its manifest's, clamped to the host's.
type limits struct {
	memoryPages uint32
	timeout     time.Duration
	maxOutput   int
	concurrency int
	kvQuota     int64
	sendsPerMin int
}

func clampLimits(req Limits, o Options) limits {
	pick := func(asked uint32, hostMax int64) int64 {
		if asked == 0 || int64(asked) > hostMax {
			return hostMax
		}
		return int64(asked)
	}
	return limits{
		memoryPages: uint32(pick(req.MemoryPages, int64(o.MaxMemoryPages))),                              //nolint:gosec // <= a uint32
		timeout:     time.Duration(pick(req.TimeoutMS, o.CallTimeout.Milliseconds())) * time.Millisecond, //nolint:gosec // small
		maxOutput:   int(pick(req.MaxOutputBytes, int64(o.MaxOutputBytes))),
		concurrency: int(pick(req.Concurrency, int64(o.MaxConcurrency))),
		kvQuota:     pick(req.KVQuotaBytes, o.KVQuotaBytes),
		sendsPerMin: int(pick(req.SendsPerMinute, int64(o.SendsPerMinute))),
	}
}

// plugin is one loaded plugin: its own wazero runtime (so the "reticle" module holds only its granted
// functions), its compiled module and a pool of idle instances.
type plugin struct {
	mgr      *Manager
	id       string
	version  string
	manifest Manifest
	grants   map[Capability]bool
	lim      limits
	rt       wazero.Runtime
	cm       wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	sem      chan struct{}
	idle     chan api.Module
	sends    *rate.Limiter

	mu       sync.Mutex
	closed   bool
	failures int // consecutive
	stats    Stats
	logs     []LogLine
}

// Stats count a plugin's calls since it was loaded.
type Stats struct {
	Calls          uint64 `json:"calls"`
	Failures       uint64 `json:"failures"`
	ConsecFailures int    `json:"consecutive_failures"`
	TotalTimeMS    int64  `json:"total_time_ms"`
	Instances      uint64 `json:"instances_started"`
	LastError      string `json:"last_error,omitempty"`
}

// LogLine is one line a plugin logged (kept in memory, the last maxLogLines).
type LogLine struct {
	At      time.Time `json:"at"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

const maxLogLines = 200

func (p *plugin) addLog(lv slog.Level, msg string) {
	p.mgr.log.Log(context.Background(), lv, "plugin log", "plugin", p.id, "plugin_message", msg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.logs) >= maxLogLines {
		p.logs = append(p.logs[:0], p.logs[1:]...)
	}
	p.logs = append(p.logs, LogLine{At: p.mgr.now().UTC(), Level: lv.String(), Message: msg})
}

// load compiles wasm in a fresh runtime after checking every import against grants. The signature
// must have been verified by the caller.
func (mg *Manager) load(ctx context.Context, m Manifest, wasm []byte, grants []Capability) (*plugin, error) {
	if len(wasm) > mg.opts.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(wasm), mg.opts.MaxModuleBytes)
	}
	lim := clampLimits(m.Limits, mg.opts)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithMemoryLimitPages(lim.memoryPages).
		WithCloseOnContextDone(true).
		WithCompilationCache(mg.cache))
	ok := false
	defer func() {
		if !ok {
			_ = rt.Close(context.Background())
		}
	}()
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModule, err) //nolint:errorlint // text only
	}
	g := map[Capability]bool{}
	for _, c := range grants {
		g[c] = true
	}
	if err := checkImports(cm, g); err != nil {
		return nil, err
	}
	if len(cm.ImportedMemories()) > 0 {
		return nil, fmt.Errorf("%w: an imported memory", ErrBadImport)
	}
	for _, e := range m.EntryPoints {
		def, ok := cm.ExportedFunctions()[e]
		if !ok || len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 1 || def.ResultTypes()[0] != api.ValueTypeI32 {
			return nil, fmt.Errorf("%w: entry point %s must be exported as () -> i32", ErrBadModule, e)
		}
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("%w: wasi: %v", ErrBadModule, err) //nolint:errorlint // text only
	}
	p := &plugin{
		mgr: mg, id: m.ID, version: m.Version, manifest: m, grants: g, lim: lim, rt: rt, cm: cm,
		sem:   make(chan struct{}, lim.concurrency),
		idle:  make(chan api.Module, lim.concurrency),
		sends: rate.NewLimiter(rate.Limit(float64(lim.sendsPerMin)/60), max(1, lim.sendsPerMin)),
	}
	hb := rt.NewHostModuleBuilder(HostModule)
	for _, f := range hostFuncs {
		if f.cap != "" && !g[f.cap] {
			continue // not linked at all: only granted capabilities have functions
		}
		fn := f.fn
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, s []uint64) {
			s[0] = api.EncodeI32(fn(p, ctx, mod, s))
		}), f.params, []api.ValueType{i32}).Export(f.name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("%w: host module: %v", ErrBadModule, err) //nolint:errorlint // text only
	}
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize")
	if g[CapClock] {
		cfg = cfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if g[CapRandom] {
		cfg = cfg.WithRandSource(rand.Reader)
	}
	p.modCfg = cfg // no args, env, fs, sockets, stdin/stdout/stderr
	ok = true
	return p, nil
}

// checkImports refuses any import outside wasi and the granted "reticle" functions, naming the grant.
func checkImports(cm wazero.CompiledModule, grants map[Capability]bool) error {
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch mod {
		case wasiModule:
			continue
		case HostModule:
			f, ok := findHostFunc(name)
			if !ok {
				return fmt.Errorf("%w: %s.%s", ErrBadImport, mod, name)
			}
			if !sameTypes(def.ParamTypes(), f.params) || len(def.ResultTypes()) != 1 || def.ResultTypes()[0] != i32 {
				return fmt.Errorf("%w: %s.%s has the wrong signature", ErrBadImport, mod, name)
			}
			if f.cap != "" && !grants[f.cap] {
				return fmt.Errorf("%w: %s.%s needs capability %s", ErrNotGranted, mod, name, f.cap)
			}
		default:
			return fmt.Errorf("%w: %s.%s", ErrBadImport, mod, name)
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// has reports whether p exports entry and holds the capability it needs.
func (p *plugin) has(entry string) bool {
	c := entryCapability[entry]
	if !p.grants[c] {
		return false
	}
	_, ok := p.cm.ExportedFunctions()[entry]
	return ok
}

// call runs entry with input in a pooled instance under the plugin's deadline and concurrency cap.
func (p *plugin) call(ctx context.Context, entry string, input []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.lim.timeout)
	defer cancel()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ErrBusy
	}
	defer func() { <-p.sem }()
	start := time.Now()
	out, err := p.run(ctx, entry, input)
	p.record(ctx, time.Since(start), err)
	return out, err
}

func (p *plugin) run(ctx context.Context, entry string, input []byte) ([]byte, error) {
	cs := &callState{input: input, maxOut: p.lim.maxOutput}
	ctx = context.WithValue(ctx, callKey{}, cs)
	var mod api.Module
	select {
	case mod = <-p.idle:
	default:
		var err error
		mod, err = p.rt.InstantiateModule(ctx, p.cm, p.modCfg)
		if err != nil {
			return nil, p.callError("start", ctx, err)
		}
		p.mu.Lock()
		p.stats.Instances++
		p.mu.Unlock()
	}
	res, err := mod.ExportedFunction(entry).Call(ctx)
	if err != nil || cs.fault != "" {
		_ = mod.Close(context.Background()) // crashed, timed out or misbehaved: never reused
		if err != nil {
			return nil, p.callError(entry, ctx, err)
		}
		return nil, fmt.Errorf("%w: %s", ErrCallFailed, cs.fault)
	}
	p.release(mod)
	if st := api.DecodeI32(res[0]); st != 0 {
		return nil, fmt.Errorf("%w: %s returned status %d", ErrCallFailed, entry, st)
	}
	return cs.output, nil
}

func (p *plugin) release(mod api.Module) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		select {
		case p.idle <- mod:
			return
		default:
		}
	}
	_ = mod.Close(context.Background())
}

func (p *plugin) callError(what string, ctx context.Context, err error) error {
	var ee *sys.ExitError
	if ctx.Err() != nil || errors.As(err, &ee) && ee.ExitCode() == sys.ExitCodeDeadlineExceeded {
		return fmt.Errorf("%w: %s after %s", ErrTimeout, what, p.lim.timeout)
	}
	if errors.As(err, &ee) {
		return fmt.Errorf("%w: %s exited with code %d", ErrCallFailed, what, ee.ExitCode())
	}
	return fmt.Errorf("%w: %s: %s", ErrCallFailed, what, firstLine(err.Error()))
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// record updates the stats and the failure streak; at MaxFailures the plugin is disabled.
func (p *plugin) record(ctx context.Context, took time.Duration, err error) {
	p.mu.Lock()
	p.stats.Calls++
	p.stats.TotalTimeMS += took.Milliseconds()
	if err == nil {
		p.failures = 0
		p.stats.ConsecFailures = 0
		p.mu.Unlock()
		return
	}
	p.failures++
	p.stats.Failures++
	p.stats.ConsecFailures = p.failures
	p.stats.LastError = err.Error()
	trip := p.failures == p.mgr.opts.MaxFailures
	p.mu.Unlock()
	p.mgr.audit(ctx, p.id, EventFailure, err.Error())
	if trip {
		p.mgr.autoDisable(p, fmt.Sprintf("%d consecutive failures, the last: %v", p.mgr.opts.MaxFailures, err))
	}
}

// close releases the runtime and every idle instance; a call in flight fails.
func (p *plugin) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case m := <-p.idle:
			_ = m.Close(context.Background())
		default:
			_ = p.rt.Close(context.Background())
			return
		}
	}
}

func (p *plugin) snapshot() (Stats, []LogLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats, append([]LogLine(nil), p.logs...)
}
