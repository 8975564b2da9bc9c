package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// Persistence of known destinations and the path table across restarts
// (the reference's storage/known_destinations and storage/destination_table,
// in a format of our own). Each file is: magic(4) version(1) count(4)
// records, then the SHA-256 of everything before it, so a torn or damaged
// file is detected and ignored as a whole. Files are written 0600 and
// atomically.

// ErrStateFile means a state file is damaged or of an unknown format.
var ErrStateFile = errors.New("bad state file")

// Persistence bounds and expiries.
const (
	// KnownExpiry drops remembered destinations not announced (or
	// remembered) for this long when they are loaded.
	KnownExpiry = 30 * 24 * time.Hour
	// ratchetExpiry is Identity.RATCHET_EXPIRY: a remembered ratchet is
	// used for at most this long after it was announced.
	ratchetExpiry   = 30 * 24 * time.Hour
	stateVersion    = 1
	maxStateFile    = 256 << 20
	stateHeaderLen  = 4 + 1 + 4
	maxIfaceNameLen = 255
)

var (
	knownMagic = [4]byte{'R', 'K', 'N', 'D'}
	pathsMagic = [4]byte{'R', 'P', 'T', 'H'}
)

// pendingPath is a restored path waiting for its interface to attach.
type pendingPath struct {
	dest wire.Hash
	pe   pathEntry
}

// stateWriter appends fixed-layout fields.
type stateWriter struct{ b []byte }

func (w *stateWriter) u8(v uint8)   { w.b = append(w.b, v) }
func (w *stateWriter) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *stateWriter) raw(b []byte) { w.b = append(w.b, b...) }
func (w *stateWriter) time(t time.Time) {
	var v int64
	if !t.IsZero() {
		v = t.UnixNano()
	}
	w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) //nolint:gosec // two's complement round trip
}

// stateReader consumes fields; the first short read sets err.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("truncated record: %w", ErrStateFile)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *stateReader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *stateReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *stateReader) time() time.Time {
	b := r.take(8)
	if b == nil {
		return time.Time{}
	}
	v := int64(binary.BigEndian.Uint64(b)) //nolint:gosec // two's complement round trip
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func (r *stateReader) hash() wire.Hash {
	var h wire.Hash
	copy(h[:], r.take(wire.TruncatedHashLen))
	return h
}

func sealState(magic [4]byte, count int, body []byte) []byte {
	out := make([]byte, 0, stateHeaderLen+len(body)+sha256.Size)
	out = append(out, magic[:]...)
	out = append(out, stateVersion)
	out = binary.BigEndian.AppendUint32(out, uint32(count)) //nolint:gosec // bounded by table limits
	out = append(out, body...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

// openState checks magic, version and checksum and returns the record
// count and the records.
func openState(magic [4]byte, b []byte) (int, *stateReader, error) {
	if len(b) < stateHeaderLen+sha256.Size {
		return 0, nil, fmt.Errorf("%d bytes: %w", len(b), ErrStateFile)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return 0, nil, fmt.Errorf("checksum mismatch: %w", ErrStateFile)
	}
	if !bytes.Equal(body[:4], magic[:]) || body[4] != stateVersion {
		return 0, nil, fmt.Errorf("unknown magic or version: %w", ErrStateFile)
	}
	return int(binary.BigEndian.Uint32(body[5:9])), &stateReader{b: body[stateHeaderLen:]}, nil
}

func readStateFile(path string) ([]byte, error) {
	f, err := identity.OpenNoFollow(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("larger than %d bytes: %w", maxStateFile, ErrStateFile)
	}
	return b, nil
}

// SaveKnown writes the remembered destinations (identity public keys, app
// data, announced ratchets) to path.
func (t *Transport) SaveKnown(path string) error {
	t.mu.Lock()
	var w stateWriter
	n := 0
	for h, k := range t.known {
		w.raw(h[:])
		w.time(k.seen)
		w.raw(k.id.PublicKey())
		ad := k.appData
		if len(ad) > 0xffff {
			ad = nil
		}
		w.u16(uint16(len(ad))) //nolint:gosec // bounded above
		w.raw(ad)
		if len(k.ratchet) == wire.RatchetLen {
			w.u8(wire.RatchetLen)
			w.raw(k.ratchet)
			w.time(k.ratchetAt)
		} else {
			w.u8(0)
		}
		n++
	}
	t.mu.Unlock()
	if err := writeFileAtomic(path, sealState(knownMagic, n, w.b)); err != nil {
		return fmt.Errorf("save known destinations: %w", err)
	}
	return nil
}

// LoadKnown restores remembered destinations from path: entries not seen
// for KnownExpiry are dropped, and at most MaxKnown are kept; destinations
// already known in memory win. A missing file loads nothing; a damaged one
// returns an error wrapping ErrStateFile and changes nothing.
func (t *Transport) LoadKnown(path string) (int, error) {
	b, err := readStateFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load known destinations: %w", err)
	}
	recs, err := parseKnown(b, t.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("load known destinations: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	loaded := 0
	for _, x := range recs {
		if _, ok := t.known[x.h]; ok || len(t.known) >= t.opts.MaxKnown {
			continue
		}
		t.known[x.h] = x.k
		loaded++
	}
	return loaded, nil
}

type knownRec struct {
	h wire.Hash
	k *knownDest
}

// parseKnown decodes a known destinations file, dropping expired entries.
func parseKnown(b []byte, now time.Time) ([]knownRec, error) {
	count, r, err := openState(knownMagic, b)
	if err != nil {
		return nil, err
	}
	var recs []knownRec
	for range count {
		h := r.hash()
		seen := r.time()
		pub := r.take(wire.PublicKeyLen)
		ad := r.take(int(r.u16()))
		var ratchet []byte
		var ratchetAt time.Time
		switch r.u8() {
		case 0:
		case wire.RatchetLen:
			ratchet = append([]byte(nil), r.take(wire.RatchetLen)...)
			ratchetAt = r.time()
		default:
			r.err = fmt.Errorf("ratchet length: %w", ErrStateFile)
		}
		if r.err != nil {
			return nil, r.err
		}
		id, err := identity.FromPublicKey(pub)
		if err != nil {
			return nil, errors.Join(err, ErrStateFile)
		}
		if now.Sub(seen) > KnownExpiry {
			continue
		}
		if ratchet != nil && now.Sub(ratchetAt) > ratchetExpiry {
			ratchet, ratchetAt = nil, time.Time{}
		}
		if len(ad) == 0 {
			ad = nil
		}
		recs = append(recs, knownRec{h, &knownDest{id: id, appData: append([]byte(nil), ad...), ratchet: ratchet, ratchetAt: ratchetAt, seen: seen}})
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("trailing bytes: %w", ErrStateFile)
	}
	return recs, nil
}

// persistable reports whether a path entry can be restored after a
// restart: it must run over a configured top-level interface (accepted
// connections and local programs do not come back under the same name).
func persistable(pe *pathEntry) bool {
	return pe.announce != nil && pe.st.i.Parent() == nil && !pe.st.localClient && !pe.st.upstream &&
		len(pe.st.i.Name()) <= maxIfaceNameLen
}

// SavePaths writes the path table to path: entries over configured
// top-level interfaces with their announces, so that path requests can
// still be answered after a restart. Like the reference, a client of a
// shared instance keeps no path table and writes nothing.
func (t *Transport) SavePaths(path string) error {
	t.mu.Lock()
	if t.attachedToShared() {
		t.mu.Unlock()
		return nil
	}
	var w stateWriter
	n := 0
	write := func(h wire.Hash, pe *pathEntry, ifName string) {
		raw, err := pe.announce.MarshalBinary()
		if err != nil || len(raw) > 0xffff {
			return
		}
		w.raw(h[:])
		w.time(pe.updated)
		w.time(pe.expires)
		w.raw(pe.nextHop[:])
		w.u8(pe.hops)
		w.u8(uint8(len(ifName))) //nolint:gosec // bounded by persistable
		w.raw([]byte(ifName))
		blobs := pe.randomBlobs
		if len(blobs) > 255 {
			blobs = blobs[len(blobs)-255:]
		}
		w.u8(uint8(len(blobs))) //nolint:gosec // bounded above
		for _, b := range blobs {
			w.raw(b[:])
		}
		w.u16(uint16(len(raw))) //nolint:gosec // bounded above
		w.raw(raw)
		n++
	}
	for h, pe := range t.paths {
		if persistable(pe) {
			write(h, pe, pe.st.i.Name())
		}
	}
	// Restored paths whose interface has not come up again are kept.
	for name, list := range t.pendingPaths {
		for k := range list {
			if _, live := t.paths[list[k].dest]; !live {
				write(list[k].dest, &list[k].pe, name)
			}
		}
	}
	t.mu.Unlock()
	if err := writeFileAtomic(path, sealState(pathsMagic, n, w.b)); err != nil {
		return fmt.Errorf("save path table: %w", err)
	}
	return nil
}

// LoadPaths restores the path table from path. Expired entries are
// dropped and at most MaxPaths kept. An entry comes into use when an
// interface with its name attaches (at once if it is attached already)
// and no fresher path was learned meanwhile. A missing file loads nothing;
// a damaged one returns an error wrapping ErrStateFile and changes nothing.
func (t *Transport) LoadPaths(path string) (int, error) {
	b, err := readStateFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load path table: %w", err)
	}
	byIface, total, err := parsePaths(b, t.clock.Now(), t.opts.MaxPaths)
	if err != nil {
		return 0, fmt.Errorf("load path table: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pendingPaths == nil {
		t.pendingPaths = map[string][]pendingPath{}
	}
	for name, list := range byIface {
		t.pendingPaths[name] = append(t.pendingPaths[name], list...)
	}
	for _, st := range t.order {
		t.installPendingPaths(st)
	}
	return total, nil
}

// parsePaths decodes a path table file into restored paths by interface
// name, dropping expired entries and keeping at most maxPaths.
func parsePaths(b []byte, now time.Time, maxPaths int) (map[string][]pendingPath, int, error) {
	count, r, err := openState(pathsMagic, b)
	if err != nil {
		return nil, 0, err
	}
	byIface := map[string][]pendingPath{}
	total := 0
	for range count {
		var pp pendingPath
		pp.dest = r.hash()
		pp.pe.updated = r.time()
		pp.pe.expires = r.time()
		pp.pe.nextHop = r.hash()
		pp.pe.hops = r.u8()
		name := string(r.take(int(r.u8())))
		nb := int(r.u8())
		for range nb {
			var blob [wire.RandomHashLen]byte
			copy(blob[:], r.take(wire.RandomHashLen))
			pp.pe.randomBlobs = append(pp.pe.randomBlobs, blob)
		}
		raw := r.take(int(r.u16()))
		if r.err != nil {
			return nil, 0, r.err
		}
		var ann wire.Packet
		if err := ann.UnmarshalBinary(raw); err != nil || ann.PacketType != wire.Announce || ann.DestinationHash != pp.dest {
			return nil, 0, fmt.Errorf("announce of %s: %w", pp.dest, errors.Join(err, ErrStateFile))
		}
		ann.Data = append([]byte(nil), ann.Data...)
		pp.pe.announce = &ann
		if !now.Before(pp.pe.expires) || pp.pe.hops >= wire.MaxHops || total >= maxPaths {
			continue
		}
		byIface[name] = append(byIface[name], pp)
		total++
	}
	if len(r.b) != 0 {
		return nil, 0, fmt.Errorf("trailing bytes: %w", ErrStateFile)
	}
	return byIface, total, nil
}

// installPendingPaths puts restored paths of an attaching interface into
// the path table. Called with t.mu held.
func (t *Transport) installPendingPaths(st *ifState) {
	if len(t.pendingPaths) == 0 || st.i.Parent() != nil || st.localClient || st.upstream {
		return
	}
	list, ok := t.pendingPaths[st.i.Name()]
	if !ok {
		return
	}
	delete(t.pendingPaths, st.i.Name())
	now := t.clock.Now()
	for k := range list {
		pp := &list[k]
		if !now.Before(pp.pe.expires) {
			continue
		}
		if cur := t.paths[pp.dest]; cur != nil && !cur.updated.Before(pp.pe.updated) {
			continue
		}
		if _, known := t.known[pp.dest]; !known {
			continue // no identity for it: it could not be used or re-announced
		}
		if t.paths[pp.dest] == nil && len(t.paths) >= t.opts.MaxPaths {
			t.evictOldestPath()
		}
		pe := pp.pe
		pe.st = st
		t.paths[pp.dest] = &pe
	}
}
