package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/link"
)

// TestLinkReferenceThroughput measures 1 MiB resource transfers over
// loopback TCP between two Python reference peers, and between Reticle and
// the reference, for comparison with BenchmarkLinkResource. It only runs
// with RETICLE_LINK_BENCH=1 (it is a measurement, not a check).
func TestLinkReferenceThroughput(t *testing.T) {
	if os.Getenv("RETICLE_LINK_BENCH") != "1" {
		t.Skip("set RETICLE_LINK_BENCH=1 to measure the reference's resource throughput")
	}
	requirePython(t)
	const size, rounds = 1 << 20, 3
	rate := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }

	// Python -> Python, compression off (random data would not compress).
	port := freePort(t)
	a, _ := startLinkPeer(t, "pyA", serverSection(port))
	b, readyB := startLinkPeer(t, "pyB", clientSection(port))
	var linked event
	for attempt := 1; attempt <= maxAttempts && linked == nil; attempt++ {
		b.send(map[string]any{"cmd": "announce"})
		if a.wait(10*time.Second, isEvent("announce", "dest", readyB.str("dest"))) == nil {
			continue
		}
		a.send(map[string]any{"cmd": "link", "dest": readyB.str("dest"), "app": app, "aspect": aspect})
		linked = a.wait(15*time.Second, isEvent("link_established"))
	}
	if linked == nil {
		t.Fatal("python peers never linked")
	}
	t.Logf("python -> python link established, reference-measured rtt %.3f ms, mtu %v", linked["rtt"].(float64)*1000, linked["mtu"])
	for range rounds {
		linkCmdID++
		id := linkCmdID
		a.send(map[string]any{"cmd": "resource", "id": id, "size": size, "compress": false})
		sent := a.wait(30*time.Second, func(e event) bool { return e.str("event") == "resource_sent" && e.num("id") == id })
		recv := b.wait(60*time.Second, isEvent("resource_received"))
		b.mu.Lock()
		b.seen = nil
		b.mu.Unlock()
		if sent == nil || recv == nil {
			t.Fatal("python transfer did not complete")
		}
		d := time.Duration((recv["time"].(float64) - sent["time"].(float64)) * float64(time.Second))
		t.Logf("python -> python: 1 MiB in %v = %.2f MB/s", d, rate(d))
	}

	// Reticle <-> Python.
	port2 := freePort(t)
	peer, _ := startLinkPeer(t, "pylink", serverSection(port2))
	rl := startReticleLinks(t, fmt.Sprintf("tcp-client://127.0.0.1:%d", port2))
	rl.waitUp(t)
	announceUntilSeen(t, rl.reticle, peer)
	peer.send(map[string]any{"cmd": "link", "dest": rl.dest.Hash().String(), "app": app, "aspect": aspect})
	var l *link.Link
	select {
	case l = <-rl.incoming:
	case <-time.After(15 * time.Second):
		t.Fatal("no link")
	}
	if ev := peer.wait(10*time.Second, isEvent("link_established")); ev != nil {
		t.Logf("python -> reticle link established, reference-measured rtt %.3f ms", ev["rtt"].(float64)*1000)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	for range rounds {
		start := time.Now()
		r, err := l.SendResource(data, link.ResourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		select {
		case <-r.Done():
		case <-ctx.Done():
		}
		cancel()
		if r.Err() != nil {
			t.Fatal(r.Err())
		}
		d := time.Since(start)
		t.Logf("reticle -> python: 1 MiB in %v = %.2f MB/s", d, rate(d))
	}
	for range rounds {
		linkCmdID++
		id := linkCmdID
		peer.send(map[string]any{"cmd": "resource", "id": id, "size": size, "compress": false})
		sent := peer.wait(30*time.Second, func(e event) bool { return e.str("event") == "resource_sent" && e.num("id") == id })
		var res *link.Resource
		select {
		case res = <-rl.resources:
		case <-time.After(60 * time.Second):
			t.Fatal("no resource")
		}
		d := time.Duration((float64(time.Now().UnixNano())/1e9 - sent["time"].(float64)) * float64(time.Second))
		t.Logf("python -> reticle: 1 MiB in %v = %.2f MB/s (err %v)", d, rate(d), res.Err())
	}
}
