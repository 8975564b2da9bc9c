package transport

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// TestRatchetsAnnounceRotateDecryptPersist: a ratchet destination
// announces its ratchet (context flag set), the sender encrypts to it, the
// ring decrypts it with enforcement on, rotation follows the interval on
// the injected clock, old ratchets still decrypt, and the ring survives a
// re-registration from its 0600 file.
func TestRatchetsAnnounceRotateDecryptPersist(t *testing.T) {
	n := newTestNet(t)
	dir := t.TempDir()
	a := n.node(false, func(o *Options) { o.RatchetDir = dir })
	b := n.node(false)
	ia, _ := n.connect(a, b)
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	var rx []Delivery
	cfg := DestinationConfig{Identity: id, App: "reticle", Aspects: []string{"ratchet"}, Proof: ProveAll,
		Ratchets: true, EnforceRatchets: true, RatchetInterval: time.Hour, RetainedRatchets: 3,
		OnPacket: func(dl Delivery) { rx = append(rx, dl) }}
	d := newDest(t, a, cfg)
	if d.RatchetPublicKey() != nil {
		t.Fatal("ratchet before the first announce")
	}
	var seen [][]byte
	b.HandleAnnounces("", true, func(an Announce) { seen = append(seen, an.Ratchet) })

	announce := func() []byte {
		t.Helper()
		if err := a.Announce(d, nil); err != nil {
			t.Fatal(err)
		}
		frames := ia.out
		if len(frames) == 0 {
			t.Fatal("no announce sent")
		}
		var p wire.Packet
		if err := p.UnmarshalBinary(frames[len(frames)-1]); err != nil {
			t.Fatal(err)
		}
		if !p.ContextFlag {
			t.Fatal("announce without context flag")
		}
		n.pump()
		return d.RatchetPublicKey()
	}
	send := func(msg string) {
		t.Helper()
		rx = nil
		r, err := b.Send(d.Hash(), []byte(msg), SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.pump()
		if len(rx) != 1 || string(rx[0].Data) != msg || r.Status() != ReceiptDelivered {
			t.Fatalf("%s: delivered %v, receipt %v", msg, rx, r.Status())
		}
	}

	r1 := announce()
	if len(seen) != 1 || !bytes.Equal(seen[0], r1) || len(r1) != wire.RatchetLen {
		t.Fatalf("announced ratchet %x, current %x", seen, r1)
	}
	send("to ratchet 1")

	// Within the interval the ratchet stays; after it, it rotates.
	n.clock.Advance(30 * time.Minute)
	if r := announce(); !bytes.Equal(r, r1) {
		t.Fatal("rotated before the interval")
	}
	n.clock.Advance(31 * time.Minute)
	r2 := announce()
	if bytes.Equal(r2, r1) || d.RatchetCount() != 2 {
		t.Fatalf("no rotation after the interval (count %d)", d.RatchetCount())
	}
	send("to ratchet 2")

	// A sender still holding ratchet 1 is decrypted by the retained ring.
	ct, err := id.Encrypt([]byte("old ratchet"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := d.ring.decrypt(ct); err != nil || string(pt) != "old ratchet" {
		t.Fatalf("old ratchet: %q %v", pt, err)
	}
	// Enforced: the identity key alone is refused.
	ct, err = id.Encrypt([]byte("no ratchet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ring.decrypt(ct); err == nil {
		t.Fatal("identity-key packet accepted with enforcement on")
	}
	// Retention bound.
	for range 3 {
		n.clock.Advance(2 * time.Hour)
		announce()
	}
	if d.RatchetCount() != 3 {
		t.Fatalf("retained %d ratchets, want 3", d.RatchetCount())
	}

	path := filepath.Join(dir, d.Hash().String())
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("ratchet file mode %v", fi.Mode().Perm())
	}
	cur := d.RatchetPublicKey()
	a.Deregister(d)
	d2 := newDest(t, a, cfg)
	if !bytes.Equal(d2.RatchetPublicKey(), cur) || d2.RatchetCount() != 3 {
		t.Fatalf("reloaded ring: count %d", d2.RatchetCount())
	}
	// Not yet due: the reloaded ring announces the same ratchet.
	if !bytes.Equal(announce2(t, a, d2), cur) {
		t.Fatal("reloaded ring rotated early")
	}
}

func announce2(t *testing.T, tr *Transport, d *Destination) []byte {
	t.Helper()
	if err := tr.Announce(d, nil); err != nil {
		t.Fatal(err)
	}
	return d.RatchetPublicKey()
}

// TestRatchetFileCorruptOrForeign: a damaged file or one signed by another
// identity is set aside and a fresh ring starts; nothing panics.
func TestRatchetFileCorruptOrForeign(t *testing.T) {
	n := newTestNet(t)
	dir := t.TempDir()
	a := n.node(false, func(o *Options) { o.RatchetDir = dir })
	n.connect(a, n.node(false))
	other := newDest(t, a, DestinationConfig{Ratchets: true})
	if err := a.Announce(other, nil); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(dir, other.Hash().String()))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"garbage":   []byte("not a ratchet file"),
		"truncated": foreign[:len(foreign)-1],
		"foreign":   foreign,
		"empty":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			id, err := identity.Generate()
			if err != nil {
				t.Fatal(err)
			}
			nh, _ := identity.NameHash("reticle", "test")
			idh := id.Hash()
			path := filepath.Join(dir, wire.DestinationHash(nh, &idh).String())
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			d := newDest(t, a, DestinationConfig{Identity: id, Ratchets: true})
			if d.RatchetCount() != 0 {
				t.Fatalf("loaded %d ratchets from a bad file", d.RatchetCount())
			}
			if _, err := os.Stat(path + ".corrupt"); err != nil {
				t.Fatalf("bad file not set aside: %v", err)
			}
			if announce2(t, a, d) == nil {
				t.Fatal("no ratchet after announce")
			}
		})
	}
}

func FuzzDecodeRatchets(f *testing.F) {
	id, err := identity.Generate()
	if err != nil {
		f.Fatal(err)
	}
	r := newRatchetRing(&DestinationConfig{Identity: id}, "")
	if _, err := r.current(time.Unix(1e9, 0)); err != nil {
		f.Fatal(err)
	}
	good, err := r.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("RTRK\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, _, err := decodeRatchets(b, id)
		if err == nil && len(keys)*wire.RatchetLen+ratchetHeaderLen+wire.SignatureLen != len(b) {
			t.Fatal("accepted inconsistent file")
		}
	})
}
