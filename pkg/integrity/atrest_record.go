package integrity

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// RecordStore keeps the second at-rest record, outside integrity.json (cmd/reticle stores it in the
// database). Load returns nil bytes and no error when nothing was saved yet.
type RecordStore interface {
	// LoadAtRestRecord returns the saved record, or nil when there is none.
	LoadAtRestRecord(ctx context.Context) ([]byte, error)
	// SaveAtRestRecord replaces the saved record.
	SaveAtRestRecord(ctx context.Context, b []byte) error
}

const (
	recordVersion = 1
	recordMACInfo = "reticle at-rest identity record v1"
	maxRecordSize = 1 << 20
	maxIdentity   = 64 << 10
)

// recordEntry vouches for one identity key file: its SHA-256 and an HMAC-SHA256 of "path\x00sha256"
// under a key derived (HKDF-SHA256) from the file's own bytes, the identity's private key. Forging an
// entry for a swapped key file needs that key file, and the entry lives apart from integrity.json.
type recordEntry struct {
	SHA256 string `json:"sha256"`
	MAC    string `json:"mac"`
}

// identityRecord is the second record: the identity key files directly under identities/.
type identityRecord struct {
	Version int                    `json:"version"`
	Files   map[string]recordEntry `json:"files"`
}

func entryFor(rel string, content []byte) (recordEntry, error) {
	sum := sha256.Sum256(content)
	key, err := hkdf.Key(sha256.New, content, nil, recordMACInfo, 32)
	if err != nil {
		return recordEntry{}, fmt.Errorf("derive record key: %w", err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rel + "\x00" + hex.EncodeToString(sum[:])))
	return recordEntry{SHA256: hex.EncodeToString(sum[:]), MAC: hex.EncodeToString(m.Sum(nil))}, nil
}

// matches reports whether e vouches for content at rel (constant-time MAC comparison).
func (e recordEntry) matches(rel string, content []byte) bool {
	want, err := entryFor(rel, content)
	if err != nil {
		return false
	}
	return e.SHA256 == want.SHA256 && hmac.Equal([]byte(e.MAC), []byte(want.MAC))
}

func parseRecord(b []byte) (*identityRecord, error) {
	if len(b) > maxRecordSize {
		return nil, fmt.Errorf("larger than %d bytes", maxRecordSize)
	}
	var r identityRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	if r.Version != recordVersion {
		return nil, fmt.Errorf("version %d (want %d)", r.Version, recordVersion)
	}
	if len(r.Files) > maxTrackedFiles {
		return nil, fmt.Errorf("more than %d files", maxTrackedFiles)
	}
	for p := range r.Files {
		if err := checkPath(p); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// identityFile is one entry directly under identities/: its bytes, or only its type when it is not a
// regular file (a symlinked key is never read, and never vouched for).
type identityFile struct {
	content []byte
	typ     string
}

// readIdentityFiles reads the entries directly under identities/ (not subdirectories such as ratchets/,
// which change while running). Absent identities/ gives none.
func readIdentityFiles(dataDir string) (map[string]identityFile, error) {
	root, err := openDataRoot(dataDir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	ents, err := readDirNoFollow(root, IdentitiesDir)
	if err != nil {
		return nil, err
	}
	out := map[string]identityFile{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		rel := IdentitiesDir + "/" + e.Name()
		if strings.HasPrefix(e.Name(), ".") {
			continue // temporary files of an atomic write
		}
		if !e.Type().IsRegular() {
			out[rel] = identityFile{typ: e.Type().String()}
			continue
		}
		b, err := readRootFile(root, rel, maxIdentity)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		out[rel] = identityFile{content: b}
		if len(out) > maxTrackedFiles {
			return nil, fmt.Errorf("more than %d files under %s", maxTrackedFiles, IdentitiesDir)
		}
	}
	return out, nil
}

// recordCheck is the outcome of comparing the identity files with the second record.
type recordCheck struct {
	haveRecord bool
	modified   []Change // differ from the record, or not regular files
	unrecorded []Change // no entry in the record
	removed    []Change
	matched    int
}

func compareRecord(rec *identityRecord, files map[string]identityFile) recordCheck {
	var rc recordCheck
	rc.haveRecord = rec != nil
	recorded := map[string]recordEntry{}
	if rec != nil {
		recorded = rec.Files
	}
	for p, f := range files {
		e, ok := recorded[p]
		switch {
		case f.typ != "":
			rc.modified = append(rc.modified, Change{Path: p, Kind: ChangeModified})
		case !ok:
			rc.unrecorded = append(rc.unrecorded, Change{Path: p, Kind: ChangeAdded})
		case !e.matches(p, f.content):
			rc.modified = append(rc.modified, Change{Path: p, Kind: ChangeModified})
		default:
			rc.matched++
		}
	}
	for p := range recorded {
		if _, ok := files[p]; !ok {
			rc.removed = append(rc.removed, Change{Path: p, Kind: ChangeRemoved})
		}
	}
	for _, cs := range [][]Change{rc.modified, rc.unrecorded, rc.removed} {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Path < cs[j].Path })
	}
	return rc
}

// buildRecord vouches for every regular identity file; keep, when not nil, names entries whose old
// value is kept instead (files that differed in warn mode and were not accepted yet).
func buildRecord(files map[string]identityFile, old *identityRecord, keep map[string]bool) (*identityRecord, error) {
	r := &identityRecord{Version: recordVersion, Files: map[string]recordEntry{}}
	for p, f := range files {
		if keep[p] && old != nil {
			if e, ok := old.Files[p]; ok {
				r.Files[p] = e
			}
			continue
		}
		if f.typ != "" {
			continue
		}
		e, err := entryFor(p, f.content)
		if err != nil {
			return nil, err
		}
		r.Files[p] = e
	}
	return r, nil
}

func saveRecord(ctx context.Context, rs RecordStore, r *identityRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: encode record: %w", ErrAtRestState, err)
	}
	if err := rs.SaveAtRestRecord(ctx, b); err != nil {
		return fmt.Errorf("%w: save record: %w", ErrAtRestState, err)
	}
	return nil
}

func loadRecord(ctx context.Context, rs RecordStore) (*identityRecord, string, error) {
	b, err := rs.LoadAtRestRecord(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("at-rest record: %w", err)
	}
	if b == nil {
		return nil, "", nil
	}
	r, err := parseRecord(b)
	if err != nil {
		return nil, oneLine(err.Error()), nil
	}
	return r, "", nil
}

// SealRecord records the current identity files as the second record, accepting them as they are. It
// is what `reticle verify --ack-at-rest` runs after [Acknowledge]; Reticle must not be running.
func SealRecord(ctx context.Context, dataDir string, rs RecordStore) error {
	files, err := readIdentityFiles(dataDir)
	if err != nil {
		return fmt.Errorf("seal at-rest record: %w", err)
	}
	r, err := buildRecord(files, nil, nil)
	if err != nil {
		return fmt.Errorf("seal at-rest record: %w", err)
	}
	return saveRecord(ctx, rs, r)
}
