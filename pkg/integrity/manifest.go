package integrity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestVersion is the only manifest format version this package reads and writes.
const ManifestVersion = 1

// ExecutableEntry is the manifest path of the Reticle binary. Verification hashes the running executable
// (/proc/self/exe, else os.Executable) for this entry instead of a file under the root.
const ExecutableEntry = "reticle"

// Limits on untrusted input.
const (
	// MaxManifestSize caps manifest.json.
	MaxManifestSize = 1 << 20
	// MaxBundleSize caps the signature bundle.
	MaxBundleSize = 1 << 20
	// MaxManifestFiles caps the number of entries in a manifest.
	MaxManifestFiles = 10000
	maxPathLen       = 1024
)

// Manifest lists the files of a release with their SHA-256 and size.
//
//	{"version":1,"files":[{"path":"reticle","sha256":"<64 hex>","size":123}]}
//
// Paths are relative, slash-separated, clean, without "..", and sorted; each appears once.
type Manifest struct {
	Version int         `json:"version"`
	Files   []FileEntry `json:"files"`
}

// FileEntry is one file of a manifest.
type FileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BuildManifest hashes the files named by paths (relative to root, slash or OS separators) and returns a
// sorted manifest. Symlinks may not lead outside root. Name the binary [ExecutableEntry], or add it from
// elsewhere with [Manifest.Add].
func BuildManifest(root string, paths []string) (*Manifest, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("build manifest: open root: %w", err)
	}
	defer func() { _ = r.Close() }() // read-only
	m := &Manifest{Version: ManifestVersion}
	for _, p := range paths {
		rel := filepath.ToSlash(p)
		if err := checkPath(rel); err != nil {
			return nil, fmt.Errorf("build manifest: %w", err)
		}
		f, err := r.Open(filepath.FromSlash(rel))
		if err != nil {
			return nil, fmt.Errorf("build manifest: %w", err)
		}
		sum, size, err := hashRegular(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("build manifest: %s: %w", rel, err)
		}
		if err := m.add(FileEntry{Path: rel, SHA256: sum, Size: size}); err != nil {
			return nil, fmt.Errorf("build manifest: %w", err)
		}
	}
	return m, nil
}

// Add hashes the file at fsPath and lists it as entry (a manifest path such as [ExecutableEntry]).
func (m *Manifest) Add(entry, fsPath string) error {
	if err := checkPath(entry); err != nil {
		return fmt.Errorf("add %s: %w", entry, err)
	}
	f, err := os.Open(fsPath)
	if err != nil {
		return fmt.Errorf("add %s: %w", entry, err)
	}
	defer func() { _ = f.Close() }() // read-only
	sum, size, err := hashRegular(f)
	if err != nil {
		return fmt.Errorf("add %s: %w", entry, err)
	}
	return m.add(FileEntry{Path: entry, SHA256: sum, Size: size})
}

func (m *Manifest) add(e FileEntry) error {
	i, found := slices.BinarySearchFunc(m.Files, e.Path, func(f FileEntry, p string) int { return strings.Compare(f.Path, p) })
	if found {
		return fmt.Errorf("duplicate path %q", e.Path)
	}
	if len(m.Files) >= MaxManifestFiles {
		return fmt.Errorf("more than %d files", MaxManifestFiles)
	}
	m.Files = slices.Insert(m.Files, i, e)
	return nil
}

// Marshal returns the canonical JSON encoding (indented, sorted, trailing newline). These are the bytes
// that get signed.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes and validates a manifest. Errors wrap [ErrManifestMalformed].
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrManifestMalformed, MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrManifestMalformed, oneLine(err.Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the manifest object", ErrManifestMalformed)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("%w: version %d (want %d)", ErrManifestMalformed, m.Version, ManifestVersion)
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("%w: no files listed", ErrManifestMalformed)
	}
	if len(m.Files) > MaxManifestFiles {
		return fmt.Errorf("%w: more than %d files", ErrManifestMalformed, MaxManifestFiles)
	}
	for i, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("%w: %w", ErrManifestMalformed, err)
		}
		if i > 0 && m.Files[i-1].Path >= f.Path {
			return fmt.Errorf("%w: paths not sorted or duplicated at %q", ErrManifestMalformed, f.Path)
		}
		if len(f.SHA256) != sha256.Size*2 || strings.ToLower(f.SHA256) != f.SHA256 {
			return fmt.Errorf("%w: %s: sha256 must be 64 lowercase hex digits", ErrManifestMalformed, f.Path)
		}
		if _, err := hex.DecodeString(f.SHA256); err != nil {
			return fmt.Errorf("%w: %s: sha256 must be 64 lowercase hex digits", ErrManifestMalformed, f.Path)
		}
		if f.Size < 0 {
			return fmt.Errorf("%w: %s: negative size", ErrManifestMalformed, f.Path)
		}
	}
	return nil
}

// checkPath accepts clean relative slash paths inside the root and rejects everything else.
func checkPath(p string) error {
	switch {
	case p == "" || len(p) > maxPathLen:
		return fmt.Errorf("path %q: empty or too long", trunc(p))
	case strings.ContainsAny(p, "\\\x00") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("path %q: backslash or control character", trunc(p))
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q: absolute paths are not allowed", trunc(p))
	case path.Clean(p) != p || p == ".":
		return fmt.Errorf("path %q: not clean", trunc(p))
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q: \"..\" is not allowed", trunc(p))
	case !filepath.IsLocal(filepath.FromSlash(p)):
		return fmt.Errorf("path %q: not a local path", trunc(p))
	}
	return nil
}

// hashRegular hashes an open file, refusing directories and other non-regular files.
func hashRegular(f *os.File) (string, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// oneLine keeps error texts on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
