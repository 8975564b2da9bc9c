package plugins

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero/api"
)

// Status values host functions return to the guest (as i32). Non-negative values are successes
// (a length where the function says so).
const (
	StatusOK          = 0
	StatusFault       = -1 // a pointer or length outside guest memory
	StatusTooLarge    = -2 // a length above the function's cap, or a buffer too small for the answer
	StatusRateLimited = -3
	StatusQuota       = -4 // the kv quota would be exceeded
	StatusNotFound    = -5
	StatusInvalid     = -6 // a malformed argument (destination, key, level)
	StatusHostError   = -7 // the host could not do it (store or network error)
)

// HostModule is the import module name of Reticle's host functions.
const HostModule = "reticle"

// wasiModule is the only other import module a guest may use (with nothing mounted or granted).
const wasiModule = "wasi_snapshot_preview1"

// Caps on what crosses the boundary.
const (
	maxLogBytes     = 1 << 10
	maxSendBytes    = 16 << 10
	maxKVKeyBytes   = 128
	maxKVValueBytes = 16 << 10
)

var (
	i32 = api.ValueTypeI32
)

// hostFunc is one function of the "reticle" module and the capability that links it ("" = the core
// input/output functions every plugin gets).
type hostFunc struct {
	name   string
	cap    Capability
	params []api.ValueType
	fn     func(p *plugin, ctx context.Context, m api.Module, s []uint64) int32
}

// hostFuncs is the whole "reticle" module of ABI version 1. Each returns one i32 status.
var hostFuncs = []hostFunc{
	{"input_len", "", nil, hostInputLen},
	{"input_read", "", []api.ValueType{i32, i32}, hostInputRead},
	{"output_write", "", []api.ValueType{i32, i32}, hostOutputWrite},
	{"log", CapLog, []api.ValueType{i32, i32, i32}, hostLog},
	{"send_message", CapMessagesSend, []api.ValueType{i32, i32, i32, i32}, hostSendMessage},
	{"kv_get", CapKV, []api.ValueType{i32, i32, i32, i32}, hostKVGet},
	{"kv_set", CapKV, []api.ValueType{i32, i32, i32, i32}, hostKVSet},
	{"kv_delete", CapKV, []api.ValueType{i32, i32}, hostKVDelete},
}

func findHostFunc(name string) (hostFunc, bool) {
	for _, f := range hostFuncs {
		if f.name == name {
			return f, true
		}
	}
	return hostFunc{}, false
}

// callState is the per-call data host functions see through the context.
type callState struct {
	input  []byte
	output []byte
	maxOut int
	fault  string // the first boundary violation, which fails the call
}

type callKey struct{}

func stateOf(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	if cs == nil {
		return &callState{} // a host function called outside a call (from _initialize): no input, no output
	}
	return cs
}

func (cs *callState) violate(format string, a ...any) {
	if cs.fault == "" {
		cs.fault = fmt.Sprintf(format, a...)
	}
}

// read copies n bytes at ptr out of guest memory, or records a fault. n is checked against max first,
// so a guest-given size never becomes an allocation beyond it.
func read(ctx context.Context, m api.Module, fn string, ptr, n uint32, maxN int) ([]byte, int32) {
	cs := stateOf(ctx)
	if int64(n) > int64(maxN) {
		cs.violate("%s: length %d above the cap of %d", fn, n, maxN)
		return nil, StatusTooLarge
	}
	mem := m.Memory()
	if mem == nil {
		cs.violate("%s: the module has no memory", fn)
		return nil, StatusFault
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		cs.violate("%s: pointer %d length %d outside guest memory", fn, ptr, n)
		return nil, StatusFault
	}
	return append([]byte(nil), b...), StatusOK
}

// write copies b into guest memory at ptr, into a buffer of capN bytes that must lie wholly inside it.
func write(ctx context.Context, m api.Module, fn string, ptr, capN uint32, b []byte) int32 {
	cs := stateOf(ctx)
	mem := m.Memory()
	if mem == nil || uint64(ptr)+uint64(capN) > uint64(mem.Size()) {
		cs.violate("%s: buffer at %d of %d bytes outside guest memory", fn, ptr, capN)
		return StatusFault
	}
	if int64(len(b)) > int64(capN) {
		return StatusTooLarge
	}
	if !mem.Write(ptr, b) {
		cs.violate("%s: pointer %d length %d outside guest memory", fn, ptr, len(b))
		return StatusFault
	}
	return int32(len(b)) //nolint:gosec // len(b) <= capN, and callers cap it far below 2^31
}

func hostInputLen(_ *plugin, ctx context.Context, _ api.Module, _ []uint64) int32 {
	return int32(len(stateOf(ctx).input)) //nolint:gosec // inputs are capped far below 2^31
}

func hostInputRead(_ *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	ptr, n := api.DecodeU32(s[0]), api.DecodeU32(s[1])
	in := stateOf(ctx).input
	if uint64(n) < uint64(len(in)) {
		return StatusTooLarge
	}
	return write(ctx, m, "input_read", ptr, n, in)
}

func hostOutputWrite(_ *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	cs := stateOf(ctx)
	ptr, n := api.DecodeU32(s[0]), api.DecodeU32(s[1])
	room := cs.maxOut - len(cs.output)
	if int64(n) > int64(room) {
		cs.violate("output_write: output above the cap of %d bytes", cs.maxOut)
		return StatusTooLarge
	}
	b, st := read(ctx, m, "output_write", ptr, n, room)
	if st != StatusOK {
		return st
	}
	cs.output = append(cs.output, b...)
	return StatusOK
}

func hostLog(p *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	level, ptr, n := int32(api.DecodeU32(s[0])), api.DecodeU32(s[1]), api.DecodeU32(s[2]) //nolint:gosec // an i32 parameter
	b, st := read(ctx, m, "log", ptr, n, maxLogBytes)
	if st != StatusOK {
		return st
	}
	var lv slog.Level
	switch level {
	case 0:
		lv = slog.LevelDebug
	case 1:
		lv = slog.LevelInfo
	case 2:
		lv = slog.LevelWarn
	case 3:
		lv = slog.LevelError
	default:
		return StatusInvalid
	}
	p.addLog(lv, string(b))
	return StatusOK
}

func hostSendMessage(p *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	dest, st := read(ctx, m, "send_message", api.DecodeU32(s[0]), api.DecodeU32(s[1]), 32)
	if st != StatusOK {
		return st
	}
	body, st := read(ctx, m, "send_message", api.DecodeU32(s[2]), api.DecodeU32(s[3]), maxSendBytes)
	if st != StatusOK {
		return st
	}
	if _, err := hex.DecodeString(string(dest)); err != nil || len(dest) != 32 {
		return StatusInvalid
	}
	if !p.sends.Allow() {
		p.mgr.audit(ctx, p.id, EventDenied, "send_message rate-limited")
		return StatusRateLimited
	}
	if p.mgr.host == nil {
		return StatusHostError
	}
	if err := p.mgr.host.SendMessage(ctx, p.id, string(dest), string(body)); err != nil {
		p.mgr.log.Warn("plugin send failed", "plugin", p.id, "err", err)
		return StatusHostError
	}
	return StatusOK
}

func kvKey(ctx context.Context, m api.Module, fn string, ptr, n uint32) (string, int32) {
	k, st := read(ctx, m, fn, ptr, n, maxKVKeyBytes)
	if st != StatusOK {
		return "", st
	}
	if len(k) == 0 {
		return "", StatusInvalid
	}
	return string(k), StatusOK
}

func hostKVGet(p *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	key, st := kvKey(ctx, m, "kv_get", api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if st != StatusOK {
		return st
	}
	v, found, err := p.mgr.rec.KVGet(ctx, p.id, key)
	switch {
	case err != nil:
		return StatusHostError
	case !found:
		return StatusNotFound
	}
	return write(ctx, m, "kv_get", api.DecodeU32(s[2]), api.DecodeU32(s[3]), v)
}

func hostKVSet(p *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	key, st := kvKey(ctx, m, "kv_set", api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if st != StatusOK {
		return st
	}
	v, st := read(ctx, m, "kv_set", api.DecodeU32(s[2]), api.DecodeU32(s[3]), maxKVValueBytes)
	if st != StatusOK {
		return st
	}
	err := p.mgr.rec.KVSet(ctx, p.id, key, v, p.lim.kvQuota)
	switch {
	case err == nil:
		return StatusOK
	case isQuota(err):
		p.mgr.audit(ctx, p.id, EventDenied, fmt.Sprintf("kv quota of %d bytes exceeded", p.lim.kvQuota))
		return StatusQuota
	}
	return StatusHostError
}

func hostKVDelete(p *plugin, ctx context.Context, m api.Module, s []uint64) int32 {
	key, st := kvKey(ctx, m, "kv_delete", api.DecodeU32(s[0]), api.DecodeU32(s[1]))
	if st != StatusOK {
		return st
	}
	if err := p.mgr.rec.KVDelete(ctx, p.id, key); err != nil {
		return StatusHostError
	}
	return StatusOK
}
