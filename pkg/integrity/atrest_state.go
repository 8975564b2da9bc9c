package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Files the at-rest check covers, relative to the data dir.
const (
	// StateFile is the at-rest state in the data dir.
	StateFile = "integrity.json"
	// DatabaseFile is the SQLite database in the data dir.
	DatabaseFile = "reticle.db"
	// IdentitiesDir holds the private identity files in the data dir.
	IdentitiesDir = "identities"

	stateVersion    = 1
	maxStateSize    = 4 << 20
	maxTrackedFiles = 10000
	maxAcks         = 20
	runStateRunning = "running"
	runStateClean   = "clean"
)

// fileHash is the recorded hash of one data file. Non-regular files (symlinks, devices) are recorded by
// type only, so replacing a key file with a symlink shows up as a change.
type fileHash struct {
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size"`
	Type   string `json:"type,omitempty"`
}

// ackRecord remembers one owner acknowledgement.
type ackRecord struct {
	At      time.Time `json:"at"`
	Changes []string  `json:"changes"`
}

// state is integrity.json.
type state struct {
	Version         int                 `json:"version"`
	State           string              `json:"state"`
	UpdatedAt       time.Time           `json:"updated_at"`
	CleanShutdownAt time.Time           `json:"clean_shutdown_at,omitzero"`
	Files           map[string]fileHash `json:"files"`
	Acknowledged    []ackRecord         `json:"acknowledged,omitempty"`
}

// parseState decodes integrity.json; any problem is an error, never a panic.
func parseState(b []byte) (*state, error) {
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("larger than %d bytes", maxStateSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s state
	if err := dec.Decode(&s); err != nil {
		return nil, errors.New(oneLine(err.Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("version %d (want %d)", s.Version, stateVersion)
	}
	if s.State != runStateRunning && s.State != runStateClean {
		return nil, fmt.Errorf("unknown state %q", trunc(s.State))
	}
	if len(s.Files) > maxTrackedFiles {
		return nil, fmt.Errorf("more than %d files", maxTrackedFiles)
	}
	for p := range s.Files {
		if err := checkPath(p); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// hashDataFiles hashes reticle.db and every file under identities/ (recursively, without following
// symlinks). Absent files are simply not listed.
func hashDataFiles(dataDir string) (map[string]fileHash, error) {
	out := map[string]fileHash{}
	if err := hashOne(dataDir, DatabaseFile, out); err != nil {
		return nil, err
	}
	idDir := filepath.Join(dataDir, IdentitiesDir)
	err := filepath.WalkDir(idDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == idDir {
				return fs.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		if len(out) >= maxTrackedFiles {
			return fmt.Errorf("more than %d files under %s", maxTrackedFiles, IdentitiesDir)
		}
		return hashOne(dataDir, filepath.ToSlash(rel), out)
	})
	if err != nil {
		return nil, fmt.Errorf("hash data files: %w", err)
	}
	return out, nil
}

func hashOne(dataDir, rel string, out map[string]fileHash) error {
	p := filepath.Join(dataDir, filepath.FromSlash(rel))
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hash %s: %w", rel, err)
	}
	if !st.Mode().IsRegular() {
		out[rel] = fileHash{Type: st.Mode().Type().String()}
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("hash %s: %w", rel, err)
	}
	defer func() { _ = f.Close() }() // read-only
	sum, size, err := hashRegular(f)
	if err != nil {
		return fmt.Errorf("hash %s: %w", rel, err)
	}
	out[rel] = fileHash{SHA256: sum, Size: size}
	return nil
}

// diffFiles compares the recorded and the current hashes, sorted by path.
func diffFiles(before, now map[string]fileHash) []Change {
	var out []Change
	for p, h := range now {
		old, ok := before[p]
		switch {
		case !ok:
			out = append(out, Change{Path: p, Kind: ChangeAdded})
		case old != h:
			out = append(out, Change{Path: p, Kind: ChangeModified})
		}
	}
	for p := range before {
		if _, ok := now[p]; !ok {
			out = append(out, Change{Path: p, Kind: ChangeRemoved})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// isIdentity reports whether a data path is under identities/.
func isIdentity(p string) bool {
	return strings.HasPrefix(p, IdentitiesDir+"/") && path.Clean(p) == p
}

// writeState writes integrity.json atomically: temp file, fsync, rename, fsync of the directory.
func writeState(dataDir string, s *state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrAtRestState, err)
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(dataDir, "."+StateFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAtRestState, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrAtRestState, err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("%w: write: %w", ErrAtRestState, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%w: sync: %w", ErrAtRestState, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: close: %w", ErrAtRestState, err)
	}
	if err := os.Rename(tmpName, filepath.Join(dataDir, StateFile)); err != nil {
		return fmt.Errorf("%w: rename: %w", ErrAtRestState, err)
	}
	ok = true
	if d, err := os.Open(dataDir); err == nil {
		serr := d.Sync()
		_ = d.Close()
		if serr != nil {
			return fmt.Errorf("%w: sync dir: %w", ErrAtRestState, serr)
		}
	}
	return nil
}
