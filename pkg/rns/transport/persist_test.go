package transport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPersistKnownAndPaths: a node saves what it learned; a new transport
// loads it, installs the path when the interface of that name attaches,
// answers sends without a new announce, and drops expired entries.
func TestPersistKnownAndPaths(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	d := newDest(t, a, DestinationConfig{Ratchets: true, Proof: ProveAll})
	if err := a.Announce(d, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	n.pump()
	if !b.HasPath(d.Hash()) {
		t.Fatal("no path")
	}
	dir := t.TempDir()
	kp, pp := filepath.Join(dir, "known"), filepath.Join(dir, "paths")
	if err := b.SaveKnown(kp); err != nil {
		t.Fatal(err)
	}
	if err := b.SavePaths(pp); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{kp, pp} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}

	restore := func(t *testing.T) *Transport {
		t.Helper()
		c := n.node(false)
		if _, err := c.LoadKnown(kp); err != nil {
			t.Fatal(err)
		}
		if _, err := c.LoadPaths(pp); err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("restart", func(t *testing.T) {
		c := restore(t)
		if c.HasPath(d.Hash()) {
			t.Fatal("path in use before its interface attached")
		}
		id, appData, ok := c.Recall(d.Hash())
		if !ok || string(appData) != "hello" || !bytes.Equal(id.PublicKey(), d.Identity().PublicKey()) {
			t.Fatalf("recall %v %q", ok, appData)
		}
		// The interface attaches under its old name ("to-a").
		n.connect(a, c)
		pi, ok := c.Path(d.Hash())
		if !ok || pi.Hops != 1 || pi.Interface != "to-a" {
			t.Fatalf("restored path %+v %v", pi, ok)
		}
		// The remembered ratchet is used (the ring decrypts it) and proven.
		r, err := c.Send(d.Hash(), []byte("after restart"), SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.pump()
		if r.Status() != ReceiptDelivered {
			t.Fatalf("receipt %v", r.Status())
		}
		c.mu.Lock()
		hasRatchet := len(c.known[d.Hash()].ratchet) == 32
		c.mu.Unlock()
		if !hasRatchet {
			t.Fatal("ratchet not restored")
		}
	})

	t.Run("expired", func(t *testing.T) {
		n.clock.Advance(8 * 24 * time.Hour) // past the 7-day path expiry
		c := restore(t)
		n.connect(a, c)
		if c.HasPath(d.Hash()) {
			t.Fatal("expired path restored")
		}
		if _, _, ok := c.Recall(d.Hash()); !ok {
			t.Fatal("known destination dropped too early")
		}
		n.clock.Advance(30 * 24 * time.Hour)
		c2 := restore(t)
		if _, _, ok := c2.Recall(d.Hash()); ok {
			t.Fatal("stale known destination restored")
		}
	})
}

// TestPersistDamagedFiles: damaged, truncated or foreign files are
// refused as a whole with ErrStateFile and load nothing; nothing panics.
func TestPersistDamagedFiles(t *testing.T) {
	n := newTestNet(t)
	a, b := n.node(false), n.node(false)
	n.connect(a, b)
	for range 3 {
		d := newDest(t, a, DestinationConfig{})
		if err := a.Announce(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	n.pump()
	dir := t.TempDir()
	kp, pp := filepath.Join(dir, "known"), filepath.Join(dir, "paths")
	if err := b.SaveKnown(kp); err != nil {
		t.Fatal(err)
	}
	if err := b.SavePaths(pp); err != nil {
		t.Fatal(err)
	}
	good := map[string][]byte{}
	for _, p := range []string{kp, pp} {
		bs, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		good[p] = bs
	}
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		return c
	}
	for _, p := range []string{kp, pp} {
		g := good[p]
		other := good[kp]
		if p == kp {
			other = good[pp]
		}
		for name, content := range map[string][]byte{
			"garbage":   []byte("definitely not state"),
			"empty":     {},
			"truncated": g[:len(g)/2],
			"bitflip":   flip(g, len(g)/3),
			"other":     other,
		} {
			t.Run(filepath.Base(p)+"/"+name, func(t *testing.T) {
				if err := os.WriteFile(p, content, 0o600); err != nil {
					t.Fatal(err)
				}
				c := n.node(false)
				var err error
				var count int
				if p == kp {
					count, err = c.LoadKnown(p)
				} else {
					count, err = c.LoadPaths(p)
				}
				if !errors.Is(err, ErrStateFile) || count != 0 {
					t.Fatalf("load: %d %v", count, err)
				}
				if len(c.Paths()) != 0 {
					t.Fatal("damaged file loaded paths")
				}
			})
		}
		if err := os.WriteFile(p, g, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := n.node(false)
	if cnt, err := c.LoadKnown(filepath.Join(dir, "missing")); err != nil || cnt != 0 {
		t.Fatalf("missing file: %d %v", cnt, err)
	}
}

func FuzzLoadState(f *testing.F) {
	n := newTestNet(f)
	a, b := n.node(false), n.node(false)
	ia, ib := &fakeIf{name: "x", owner: a}, &fakeIf{name: "y", owner: b}
	ia.peer, ib.peer = ib, ia
	a.Attach(ia)
	b.Attach(ib)
	n.links = append(n.links, ia, ib)
	d, err := a.Register(DestinationConfig{Identity: b.Identity(), App: "reticle", Aspects: []string{"fuzz"}, Ratchets: true})
	if err != nil {
		f.Fatal(err)
	}
	if err := a.Announce(d, []byte("x")); err != nil {
		f.Fatal(err)
	}
	n.pump()
	dir := f.TempDir()
	kp, pp := filepath.Join(dir, "known"), filepath.Join(dir, "paths")
	if err := b.SaveKnown(kp); err != nil {
		f.Fatal(err)
	}
	if err := b.SavePaths(pp); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{kp, pp} {
		bs, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bs[:len(bs)-32]) // the fuzz body is resealed below
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The checksum guards the records; fuzz the record parser behind
		// it by resealing the mutated body.
		if len(data) < stateHeaderLen {
			return
		}
		body := data[stateHeaderLen:]
		count := int(data[8]) // small counts keep runs fast
		now := n.clock.Now()
		_, _ = parseKnown(sealState(knownMagic, count, body), now)
		_, _, _ = parsePaths(sealState(pathsMagic, count, body), now, 100)
		// Unsealed input must be refused unless its checksum holds.
		_, _ = parseKnown(data, now)
	})
}
