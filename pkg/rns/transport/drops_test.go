package transport

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// warnRecorder keeps the warn records a transport logs.
type warnRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (w *warnRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnRecorder) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *warnRecorder) WithGroup(string) slog.Handler            { return w }
func (w *warnRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		w.recs = append(w.recs, r.Clone())
		w.mu.Unlock()
	}
	return nil
}

func (w *warnRecorder) reasons() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.recs {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				out = append(out, a.Value.String())
			}
			return true
		})
	}
	return out
}

// fullIf refuses every frame, like a TCP session whose queue is full.
type fullIf struct{ fakeIf }

func (f *fullIf) Send([]byte) error { return iface.ErrQueueFull }

func TestDropsCountedAndWarnedRateLimited(t *testing.T) {
	n := newTestNet(t)
	rec := &warnRecorder{}
	a := n.node(false, func(o *Options) { o.Logger = slog.New(rec) })
	in := &fakeIf{name: "in", owner: a, bitrate: 10_000_000}
	a.Attach(in)
	for range 50 {
		a.Inbound(in, []byte{0xff, 0x00, 0x01})
	}
	if got := a.Drops()[DropMalformed]; got != 50 {
		t.Fatalf("malformed drops = %d, want 50", got)
	}
	if got := rec.reasons(); len(got) != 1 || got[0] != DropMalformed {
		t.Fatalf("warn lines after a flood = %v, want one %q", got, DropMalformed)
	}
	n.clock.Advance(dropLogEvery + time.Second)
	a.Inbound(in, []byte{0xff})
	if got := rec.reasons(); len(got) != 2 {
		t.Fatalf("warn lines after the quiet gap = %v, want 2", got)
	}

	full := &fullIf{fakeIf{name: "full", owner: a, bitrate: 10_000_000}}
	a.Attach(full)
	d := newDest(t, a, DestinationConfig{App: "drops", Aspects: []string{"test"}})
	if err := a.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	if got := a.Drops()[DropSendFailed]; got == 0 {
		t.Fatalf("send drops = %d, want > 0 after announcing on a full interface", got)
	}
	found := false
	for _, r := range rec.reasons() {
		found = found || r == DropSendFailed
	}
	if !found {
		t.Fatalf("no warn line for %q in %v", DropSendFailed, rec.reasons())
	}
	if errors.Is(nil, iface.ErrQueueFull) {
		t.Fatal("unreachable")
	}
}
