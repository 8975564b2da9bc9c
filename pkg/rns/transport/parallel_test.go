package transport

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// parallelFrames makes n frames for one interface: every third an announce of a distinct destination
// (the ones workers check), the others PLAIN data packets numbered in their content, for a PLAIN
// destination on tr. It returns the frames and, in order, the label each one is delivered under.
func parallelFrames(t testing.TB, n int, plain wire.Hash) (frames [][]byte, labels []string) {
	t.Helper()
	nh, err := identity.NameHash("par", "ann")
	if err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if k%3 == 0 {
			id, err := identity.Generate()
			if err != nil {
				t.Fatal(err)
			}
			p, err := id.NewAnnounce(identity.AnnounceOptions{NameHash: nh, AppData: []byte("par")})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := p.Marshal()
			frames, labels = append(frames, raw), append(labels, "announce "+p.DestinationHash.String())
			continue
		}
		p := &wire.Packet{DestinationType: wire.Plain, PacketType: wire.Data, DestinationHash: plain, Data: fmt.Appendf(nil, "data %d", k)}
		raw, _ := p.Marshal()
		frames, labels = append(frames, raw), append(labels, fmt.Sprintf("data %d", k))
	}
	return frames, labels
}

// TestParallelKeepsOrder: frames of one interface (announces checked on the workers, data prepared in
// the lane) come out of the transport in exactly the order they went in, on two interfaces at once;
// Detach returns only after the frames delivered before it were processed; Close stops every goroutine.
func TestParallelKeepsOrder(t *testing.T) {
	before := runtime.NumGoroutine()
	n := newTestNet(t)
	tr := n.node(true, func(o *Options) { o.Ingress.Disabled = true })
	in1, _ := n.connect(tr, n.node(false))
	in2 := &fakeIf{name: "to-c", owner: tr, bitrate: 10_000_000}
	tr.Attach(in2)
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(ifName, label string) {
		mu.Lock()
		got[ifName] = append(got[ifName], label)
		mu.Unlock()
	}
	plain, err := tr.Register(DestinationConfig{Type: wire.Plain, App: "par", Aspects: []string{"data"}, OnPacket: func(d Delivery) {
		record(d.Interface, string(d.Data))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.HandleAnnounces("par.ann", false, func(a Announce) {
		record(a.Interface, "announce "+a.Destination.String())
	})()

	p := NewParallel(tr, 4)
	const count = 300
	want := map[string][]string{}
	var wg sync.WaitGroup
	for _, in := range []*fakeIf{in1, in2} {
		frames, labels := parallelFrames(t, count, plain.Hash())
		want[in.Name()] = labels
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range frames {
				p.Inbound(in, f)
			}
			p.Detach(in) // processes what came before it
			mu.Lock()
			n := len(got[in.Name()])
			mu.Unlock()
			if n != count {
				t.Errorf("%s: %d of %d frames processed when Detach returned", in.Name(), n, count)
			}
		}()
	}
	wg.Wait()
	p.Close()
	p.Inbound(in1, []byte{0, 0}) // after Close: dropped, no goroutine started
	mu.Lock()
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Fatalf("%s: %d frames processed, want %d", name, len(g), len(w))
		}
		for k := range w {
			if g[k] != w[k] {
				t.Fatalf("%s: frame %d processed as %q, want %q (order lost)", name, k, g[k], w[k])
			}
		}
	}
	mu.Unlock()
	if c := tr.Counters(); c.AnnouncesValid < 2*count/3 {
		t.Fatalf("%d valid announces, want %d", c.AnnouncesValid, 2*count/3)
	}
	_ = tr.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after Close, %d before", g, before)
	}
}

// TestParallelBadFrames: malformed frames and forged announces are counted and dropped as by Inbound,
// without stopping the lane.
func TestParallelBadFrames(t *testing.T) {
	n := newTestNet(t)
	tr := n.node(true, func(o *Options) { o.Ingress.Disabled = true })
	in, _ := n.connect(tr, n.node(false))
	plain, err := tr.Register(DestinationConfig{Type: wire.Plain, App: "par", Aspects: []string{"data"}, OnPacket: func(Delivery) {}})
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := parallelFrames(t, 3, plain.Hash())
	forged := append([]byte(nil), frames[0]...)
	forged[len(forged)-1] ^= 1 // the announce's app data no longer matches its signature
	p := NewParallel(tr, 2)
	for _, f := range [][]byte{{}, {0xff}, forged, frames[1], frames[0]} {
		p.Inbound(in, f)
	}
	p.Close()
	c := tr.Counters()
	if c.Malformed != 3 || c.AnnouncesInvalid != 1 || c.AnnouncesValid != 1 || c.Delivered != 1 {
		t.Fatalf("counters %+v", c)
	}
}
