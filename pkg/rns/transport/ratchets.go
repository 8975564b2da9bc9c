package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Ratchet defaults of the reference (RNS/Destination.py).
const (
	// DefaultRatchetCount is Destination.RATCHET_COUNT: ratchets retained
	// for decryption.
	DefaultRatchetCount = 512
	// DefaultRatchetInterval is Destination.RATCHET_INTERVAL: the minimum
	// time between two rotations.
	DefaultRatchetInterval = 30 * time.Minute
)

// ErrRatchetFile means a ratchet file is malformed or not signed by the
// destination's identity.
var ErrRatchetFile = errors.New("bad ratchet file")

// ratchetMagic opens Reticle's ratchet file. Layout (all big endian):
// magic(4) version(1) latest-rotation-unix-seconds(8) count(2)
// count x 32-byte X25519 private keys (newest first), then a 64-byte
// Ed25519 signature by the destination identity over everything before it,
// so a file swapped in from another destination is refused (the reference
// signs its msgpack ratchet file the same way).
var ratchetMagic = [4]byte{'R', 'T', 'R', 'K'}

const (
	ratchetFileVersion = 1
	ratchetHeaderLen   = 4 + 1 + 8 + 2
	maxRatchetFile     = ratchetHeaderLen + 65535*wire.RatchetLen + wire.SignatureLen
)

// ratchetRing is a local destination's ratchet keys, newest first
// (Destination.ratchets). Guarded by its own mutex; never lock t.mu while
// holding it.
type ratchetRing struct {
	mu       sync.Mutex
	id       *identity.Identity
	path     string // "" keeps the ring in memory only
	keys     []*identity.Ratchet
	latest   time.Time
	interval time.Duration
	retain   int
	enforce  bool
}

func newRatchetRing(cfg *DestinationConfig, path string) *ratchetRing {
	r := &ratchetRing{id: cfg.Identity, path: path, interval: cfg.RatchetInterval, retain: cfg.RetainedRatchets, enforce: cfg.EnforceRatchets}
	if r.interval <= 0 {
		r.interval = DefaultRatchetInterval
	}
	if r.retain <= 0 {
		r.retain = DefaultRatchetCount
	}
	r.retain = min(r.retain, 65535)
	return r
}

// load reads the ring from its file; a missing file is an empty ring.
func (r *ratchetRing) load() error {
	if r.path == "" {
		return nil
	}
	f, err := identity.OpenNoFollow(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load ratchets: %w", err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxRatchetFile+1))
	if err != nil {
		return fmt.Errorf("load ratchets: %w", err)
	}
	keys, latest, err := decodeRatchets(b, r.id)
	if err != nil {
		return fmt.Errorf("load ratchets %s: %w", r.path, err)
	}
	if len(keys) > r.retain {
		keys = keys[:r.retain]
	}
	r.keys, r.latest = keys, latest
	return nil
}

// decodeRatchets parses and verifies a ratchet file.
func decodeRatchets(b []byte, id *identity.Identity) ([]*identity.Ratchet, time.Time, error) {
	if len(b) < ratchetHeaderLen+wire.SignatureLen || len(b) > maxRatchetFile {
		return nil, time.Time{}, fmt.Errorf("%d bytes: %w", len(b), ErrRatchetFile)
	}
	if !bytes.Equal(b[:4], ratchetMagic[:]) || b[4] != ratchetFileVersion {
		return nil, time.Time{}, fmt.Errorf("unknown magic or version: %w", ErrRatchetFile)
	}
	n := int(binary.BigEndian.Uint16(b[13:15]))
	if len(b) != ratchetHeaderLen+n*wire.RatchetLen+wire.SignatureLen {
		return nil, time.Time{}, fmt.Errorf("length does not match %d ratchets: %w", n, ErrRatchetFile)
	}
	body := b[:len(b)-wire.SignatureLen]
	if !id.Verify(b[len(body):], body) {
		return nil, time.Time{}, fmt.Errorf("signature: %w", ErrRatchetFile)
	}
	latest := time.Unix(int64(binary.BigEndian.Uint64(b[5:13])), 0) //nolint:gosec // round trip of a stored int64
	keys := make([]*identity.Ratchet, 0, n)
	for k := range n {
		off := ratchetHeaderLen + k*wire.RatchetLen
		rk, err := identity.RatchetFromBytes(b[off : off+wire.RatchetLen])
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("ratchet %d: %w", k, errors.Join(err, ErrRatchetFile))
		}
		keys = append(keys, rk)
	}
	return keys, latest, nil
}

// encode serialises and signs the ring. Called with r.mu held.
func (r *ratchetRing) encode() ([]byte, error) {
	b := make([]byte, 0, ratchetHeaderLen+len(r.keys)*wire.RatchetLen+wire.SignatureLen)
	b = append(b, ratchetMagic[:]...)
	b = append(b, ratchetFileVersion)
	var sec int64
	if !r.latest.IsZero() {
		sec = r.latest.Unix()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(sec)) //nolint:gosec // stored as two's complement
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.keys)))
	for _, k := range r.keys {
		b = append(b, k.Bytes()...)
	}
	sig, err := r.id.Sign(b)
	if err != nil {
		return nil, err
	}
	return append(b, sig...), nil
}

// persist writes the ring to its file (0600, atomic). Called with r.mu held.
func (r *ratchetRing) persist() error {
	if r.path == "" {
		return nil
	}
	b, err := r.encode()
	if err != nil {
		return fmt.Errorf("persist ratchets: %w", err)
	}
	return writeFileAtomic(r.path, b)
}

// current rotates the ring when the interval has passed since the last
// rotation (Destination.rotate_ratchets, run on every announce) and returns
// the newest ratchet's public key.
func (r *ratchetRing) current(now time.Time) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.keys) == 0 || r.latest.IsZero() || now.After(r.latest.Add(r.interval)) {
		k, err := identity.GenerateRatchet()
		if err != nil {
			return nil, err
		}
		keys := append([]*identity.Ratchet{k}, r.keys...)
		if len(keys) > r.retain {
			keys = keys[:r.retain]
		}
		r.keys, r.latest = keys, now
		if err := r.persist(); err != nil {
			return nil, err
		}
	}
	return r.keys[0].PublicKey(), nil
}

// decrypt tries the ring, newest first, then (unless enforced) the
// identity key.
func (r *ratchetRing) decrypt(token []byte) ([]byte, error) {
	r.mu.Lock()
	keys, enforce := r.keys, r.enforce
	r.mu.Unlock()
	pt, _, err := r.id.DecryptRatchets(token, keys, enforce)
	return pt, err
}

// openRatchets builds and loads the ring of a destination being
// registered. A corrupt file is logged, kept aside as PATH.corrupt for
// manual recovery, and replaced by a fresh ring: senders still holding an
// old ratchet fail until the next announce, as with the reference after a
// ratchet file is reinitialised.
func (t *Transport) openRatchets(d *Destination) *ratchetRing {
	path := d.cfg.RatchetsPath
	if path == "" && t.opts.RatchetDir != "" {
		path = filepath.Join(t.opts.RatchetDir, d.hash.String())
	}
	r := newRatchetRing(&d.cfg, path)
	if err := r.load(); err != nil {
		t.log.Error("ratchet file unreadable, starting a new ratchet ring; announce soon", "destination", d.hash.String(), "error", err)
		if path != "" {
			if err := os.Rename(path, path+".corrupt"); err != nil {
				t.log.Warn("could not move corrupt ratchet file aside", "path", path, "error", err)
			}
		}
		r.keys, r.latest = nil, time.Time{}
	}
	return r
}

// RatchetPublicKey returns the public key of the destination's newest
// ratchet, or nil when ratchets are off or none was made yet (the first
// announce makes one).
func (d *Destination) RatchetPublicKey() []byte {
	if d.ring == nil {
		return nil
	}
	d.ring.mu.Lock()
	defer d.ring.mu.Unlock()
	if len(d.ring.keys) == 0 {
		return nil
	}
	return d.ring.keys[0].PublicKey()
}

// RatchetCount returns how many ratchets the destination retains.
func (d *Destination) RatchetCount() int {
	if d.ring == nil {
		return 0
	}
	d.ring.mu.Lock()
	defer d.ring.mu.Unlock()
	return len(d.ring.keys)
}
