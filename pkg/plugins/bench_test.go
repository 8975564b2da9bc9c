package plugins

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkColdCompile compiles the Go example echo plugin with no cache.
func BenchmarkColdCompile(b *testing.B) {
	wasm := buildGo(b, "../../examples/plugins/echo")
	ctx := context.Background()
	for b.Loop() {
		rt := wazero.NewRuntime(ctx)
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
		_ = rt.Close(ctx)
	}
}

func benchPlugin(b *testing.B) (*Manager, *plugin) {
	b.Helper()
	wasm := buildGo(b, "../../examples/plugins/echo")
	f := &fixture{rec: newMemRecords(), host: &fakeHost{}}
	mg, err := New(Options{cache: sharedCache, SendsPerMinute: 1 << 30}, f.rec, f.host)
	if err != nil {
		b.Fatal(err)
	}
	m := Manifest{ID: "echo", Version: "1.0.0", ABI: 1, EntryPoints: []string{EntryOnMessage},
		Capabilities: []Capability{CapMessagesRead, CapMessagesSend, CapLog}, PublisherKeyID: "0000000000000000"}
	p, err := mg.load(context.Background(), m, wasm, m.Capabilities)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.close(); _ = mg.Close() })
	return mg, p
}

// BenchmarkInstanceStart instantiates the echo plugin (runs the Go runtime's _initialize).
func BenchmarkInstanceStart(b *testing.B) {
	_, p := benchPlugin(b)
	ctx := context.Background()
	for b.Loop() {
		mod, err := p.rt.InstantiateModule(ctx, p.cm, p.modCfg)
		if err != nil {
			b.Fatal(err)
		}
		_ = mod.Close(ctx)
	}
}

// BenchmarkMessageCall delivers one message to a warm echo instance (JSON in, a send out).
func BenchmarkMessageCall(b *testing.B) {
	_, p := benchPlugin(b)
	in := []byte(`{"id":"m","source":"abababababababababababababababab","title":"t","content":"hello"}`)
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.call(ctx, EntryOnMessage, in); err != nil {
			b.Fatal(err)
		}
	}
}
