package plugins

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

var testMsg = Message{ID: "m1", Source: strings.Repeat("ab", 16), Destination: strings.Repeat("cd", 16), Title: "hi", Content: "ok"}

// allCaps are every capability on_message plugins may get.
var allCaps = []Capability{CapMessagesRead, CapMessagesSend, CapLog, CapKV, CapClock, CapRandom}

func TestUngrantedImportRefusedNamingTheGrant(t *testing.T) {
	f := newFixture(t, Options{})
	wasm := onMessage(cat(i32c(0), i32c(0), i32c(0), i32c(0), call(0)), hostImport("send_message"))
	m := f.manifest("sender", "1.0.0", CapMessagesRead, CapMessagesSend)
	err := f.installEnabled(m, wasm, CapMessagesRead)
	if !errors.Is(err, ErrNotGranted) || !strings.Contains(err.Error(), "reticle.send_message needs capability messages.send") {
		t.Fatalf("enable without the grant: %v", err)
	}
	if info, _ := f.mg.Get(context.Background(), "sender"); info.Enabled || info.Running {
		t.Fatalf("refused plugin is enabled: %+v", info)
	}
	if f.rec.events("sender", EventDenied) != 1 {
		t.Error("denial not audited")
	}
	// With the grant it loads.
	if _, err := f.mg.SetGrants(context.Background(), "sender", []Capability{CapMessagesRead, CapMessagesSend}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.SetEnabled(context.Background(), "sender", true); err != nil {
		t.Fatalf("enable with the grant: %v", err)
	}
	// Revoking while running unloads it and disables it with the reason.
	info, err := f.mg.SetGrants(context.Background(), "sender", []Capability{CapMessagesRead})
	if err != nil || info.Enabled || !strings.Contains(info.DisabledReason, "messages.send") {
		t.Fatalf("revoke while running: %+v %v", info, err)
	}
}

func TestForeignImportsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	for name, wasm := range map[string][]byte{
		"unknown module":    onMessage(i32c(0), wImport{mod: "env", name: "system", results: 1}),
		"unknown function":  onMessage(i32c(0), wImport{mod: HostModule, name: "exec", results: 1}),
		"wrong signature":   onMessage(i32c(0), wImport{mod: HostModule, name: "log", params: 1, results: 1}),
		"entry wrong shape": wModule{memPages: 1, funcs: []wFunc{{export: EntryOnMessage, params: 1, results: 1, body: i32c(0)}}}.bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			id := strings.ReplaceAll(name, " ", "-")
			err := f.installEnabled(f.manifest(id, "1.0.0", CapMessagesRead, CapLog), wasm, CapMessagesRead, CapLog)
			if !errors.Is(err, ErrBadImport) && !errors.Is(err, ErrBadModule) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestInfiniteLoopStoppedAtDeadlineAndInstanceReplaced(t *testing.T) {
	f := newFixture(t, Options{CallTimeout: 100 * time.Millisecond, MaxFailures: 3})
	wasm := onMessage(cat(opLoop, i32c(0)))
	if err := f.installEnabled(f.manifest("loop", "1.0.0", CapMessagesRead), wasm, CapMessagesRead); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := f.mg.DeliverNow(context.Background(), testMsg); !errors.Is(err, ErrTimeout) {
			t.Fatalf("call %d: %v, want ErrTimeout", i, err)
		}
	}
	info, _ := f.mg.Get(context.Background(), "loop")
	if info.Enabled || !strings.Contains(info.DisabledReason, "3 consecutive failures") {
		t.Fatalf("not auto-disabled: %+v", info)
	}
	if f.rec.events("loop", EventAutoDisable) != 1 || f.rec.events("loop", EventFailure) != 3 {
		t.Errorf("audit: %+v", f.rec.audit)
	}
}

func TestMemoryCap(t *testing.T) {
	f := newFixture(t, Options{MaxMemoryPages: 16})
	// Declared above the cap: refused at load.
	big := wModule{memPages: 17, funcs: []wFunc{{export: EntryOnMessage, results: 1, body: i32c(0)}}}.bytes()
	if _, err := f.mg.Install(context.Background(), f.pkg(f.manifest("big", "1.0.0", CapMessagesRead), big)); !errors.Is(err, ErrBadModule) ||
		!strings.Contains(err.Error(), "over limit of 16 pages") {
		t.Fatalf("module declaring 17 pages under a 16-page cap: %v", err)
	}
	// Growing past the cap: memory.grow fails (-1), which this module returns as its status.
	bomb := onMessage(cat(i32c(1000), opGrow))
	if err := f.installEnabled(f.manifest("bomb", "1.0.0", CapMessagesRead), bomb, CapMessagesRead); err != nil {
		t.Fatal(err)
	}
	err := f.mg.DeliverNow(context.Background(), testMsg)
	if !errors.Is(err, ErrCallFailed) || !strings.Contains(err.Error(), "status -1") {
		t.Fatalf("grow past the cap: %v", err)
	}
	// Within the cap it succeeds (grow returns the old size, 1).
	ok := onMessage(cat(i32c(15), opGrow, i32c(1), []byte{0x6b})) // old size - 1 = 0
	if err := f.installEnabled(f.manifest("grow", "1.0.0", CapMessagesRead), ok, CapMessagesRead); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.loaded["grow"].call(context.Background(), EntryOnMessage, nil); err != nil {
		t.Fatalf("grow within the cap: %v", err)
	}
}

func TestHugeOutputRefused(t *testing.T) {
	f := newFixture(t, Options{MaxOutputBytes: 100})
	wasm := onMessage(cat(i32c(0), i32c(101), call(0)), hostImport("output_write"))
	if err := f.installEnabled(f.manifest("big-out", "1.0.0", CapMessagesRead), wasm, CapMessagesRead); err != nil {
		t.Fatal(err)
	}
	_, err := f.mg.loaded["big-out"].call(context.Background(), EntryOnMessage, nil)
	if !errors.Is(err, ErrCallFailed) || !strings.Contains(err.Error(), "above the cap of 100") {
		t.Fatalf("output above the cap: %v", err)
	}
}

// TestBadPointersToEveryHostFunction calls each host function with pointers and lengths outside guest
// memory (one page) and lengths above the caps: each returns an error status, the call fails, nothing
// is written, sent, stored or logged.
func TestBadPointersToEveryHostFunction(t *testing.T) {
	f := newFixture(t, Options{})
	const page = 65536
	bad := [][2]int64{{page - 4, 8}, {-16, 32}, {-1, 1}, {0, 0x7FFFFFFF}, {0, -1}}
	n := 0
	for _, hf := range hostFuncs {
		pairs := len(hf.params) / 2
		if pairs == 0 {
			continue
		}
		for pair := range pairs {
			for _, b := range bad {
				args := make([]int64, len(hf.params))
				if hf.name == "log" {
					args[0] = 1 // a valid level; the pointer pair follows
				}
				off := len(hf.params) - 2*pairs + 2*pair
				// Valid small arguments elsewhere: a 1-byte buffer at 0 (key "a"-like).
				for i := len(hf.params) - 2*pairs; i < len(hf.params); i += 2 {
					args[i], args[i+1] = 0, 1
				}
				args[off], args[off+1] = b[0], b[1]
				var body []byte
				for _, a := range args {
					body = append(body, i32c(a)...)
				}
				body = append(body, call(0)...)
				wasm := onMessage(body, hostImport(hf.name))
				id := "bad-" + strings.ReplaceAll(hf.name, "_", "-") + "-" + string(rune('a'+n%26)) + string(rune('a'+n/26))
				n++
				if err := f.installEnabled(f.manifest(id, "1.0.0", allCaps...), wasm, allCaps...); err != nil {
					t.Fatal(err)
				}
				_, err := f.mg.loaded[id].call(context.Background(), EntryOnMessage, []byte("x"))
				if err == nil {
					t.Errorf("%s(%v): call succeeded", hf.name, args)
				}
			}
		}
	}
	if f.host.count() != 0 || len(f.rec.kv) != 0 {
		t.Fatalf("bad arguments had effects: sends %d kv %v", f.host.count(), f.rec.kv)
	}
	for _, p := range f.mg.loaded {
		if _, logs := p.snapshot(); len(logs) != 0 {
			t.Fatalf("%s logged %v", p.id, logs)
		}
	}
}

func TestRandomAndClockOnlyWhenGranted(t *testing.T) {
	f := newFixture(t, Options{})
	randomGet := wImport{mod: wasiModule, name: "random_get", params: 2, results: 1}
	clockGet := wImport{mod: wasiModule, name: "clock_time_get", params: 3, results: 1}
	// random_get(0, 16); clock_time_get(realtime, 0, 16) (i64 precision); output_write(0, 24)
	body := cat(i32c(0), i32c(16), call(0), opDrop,
		i32c(0), opI64c0, i32c(16), call(1), opDrop,
		i32c(0), i32c(24), call(2))
	mod := wModule{memPages: 1, imports: []wImport{randomGet, clockGet, hostImport("output_write")},
		funcs: []wFunc{{export: EntryOnMessage, results: 1, body: body}}}
	wasm := mod.bytes()
	// clock_time_get takes (i32, i64, i32): patch the type of import 1 to that shape.
	wasm = patchClockType(t, wasm)
	run := func(id string, caps ...Capability) ([]byte, int64) {
		t.Helper()
		if err := f.installEnabled(f.manifest(id, "1.0.0", append([]Capability{CapMessagesRead}, caps...)...), wasm, append([]Capability{CapMessagesRead}, caps...)...); err != nil {
			t.Fatal(err)
		}
		out, err := f.mg.loaded[id].call(context.Background(), EntryOnMessage, nil)
		if err != nil || len(out) != 24 {
			t.Fatalf("%s: %v %x", id, err, out)
		}
		return out[:16], int64(binary.LittleEndian.Uint64(out[16:])) //nolint:gosec // a clock reading
	}
	r1, c1 := run("plain-a")
	r2, _ := run("plain-b")
	r3, c3 := run("granted", CapRandom, CapClock)
	if string(r1) != string(r2) {
		t.Error("ungranted random differs between instances: it should be a fixed stream")
	}
	if string(r1) == string(r3) {
		t.Error("granted random equals the fixed stream")
	}
	now := time.Now().UnixNano()
	if c1 > now-int64(24*time.Hour*365) {
		t.Errorf("ungranted clock looks real: %d", c1)
	}
	if d := now - c3; d < 0 || d > int64(time.Hour) {
		t.Errorf("granted clock is not the wall clock: %d vs %d", c3, now)
	}
}

// patchClockType rewrites the second function type, (i32,i32,i32)->i32, into (i32,i64,i32)->i32.
func patchClockType(t *testing.T, wasm []byte) []byte {
	t.Helper()
	want := []byte{0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f}
	for i := range len(wasm) - len(want) {
		if string(wasm[i:i+len(want)]) == string(want) {
			out := append([]byte(nil), wasm...)
			out[i+3] = 0x7e
			return out
		}
	}
	t.Fatal("clock type not found")
	return nil
}
