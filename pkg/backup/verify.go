package backup

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// Limits cap what reading an archive may cost; the zero value means the defaults.
type Limits struct {
	MaxArchive  int64 // bytes of the archive file (default 16 GiB)
	MaxTotal    int64 // uncompressed bytes of all members (default 32 GiB)
	MaxMember   int64 // uncompressed bytes of one member (default 8 GiB)
	MaxMembers  int   // members (default 1,000,000)
	MaxManifest int64 // bytes of manifest.json (default 256 MiB)
}

func (l Limits) norm() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxArchive, 16<<30)
	def(&l.MaxTotal, 32<<30)
	def(&l.MaxMember, 8<<30)
	def(&l.MaxManifest, 256<<20)
	if l.MaxMembers <= 0 {
		l.MaxMembers = 1_000_000
	}
	return l
}

// archive is an opened archive whose structure and manifest were checked; member hashes are checked
// as each member is read through member().
type archive struct {
	f        *os.File
	zr       *zip.Reader
	manifest Manifest
	byName   map[string]*zip.File
	limits   Limits
}

func (a *archive) Close() error { return a.f.Close() }

// openArchive checks everything that can be checked without reading member contents: the size, the
// member names against the allow-list, types, duplicates, counts and sizes, and that the manifest
// lists exactly the members present with their sizes, and a schema this binary can open.
func openArchive(path string, limits Limits) (*archive, error) {
	limits = limits.norm()
	f, err := os.Open(path) //nolint:gosec // G304: the archive the owner named
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	a, err := checkArchive(f, limits)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return a, nil
}

func checkArchive(f *os.File, limits Limits) (*archive, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrInvalid)
	}
	if st.Size() > limits.MaxArchive {
		return nil, fmt.Errorf("%w: archive is %d bytes, the limit is %d", ErrInvalid, st.Size(), limits.MaxArchive)
	}
	head := make([]byte, len(sealedMagic))
	if n, _ := f.ReadAt(head, 0); bytes.Equal(head[:n], sealedMagic) {
		return nil, ErrSealed
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %w (truncated or not a zip archive)", ErrInvalid, err)
	}
	if len(zr.File) > limits.MaxMembers {
		return nil, fmt.Errorf("%w: %d members, the limit is %d", ErrInvalid, len(zr.File), limits.MaxMembers)
	}
	byName := make(map[string]*zip.File, len(zr.File))
	var total uint64
	for _, zf := range zr.File {
		if err := checkMember(zf, limits); err != nil {
			return nil, err
		}
		if _, dup := byName[zf.Name]; dup {
			return nil, fmt.Errorf("%w: member %q appears twice", ErrInvalid, zf.Name)
		}
		byName[zf.Name] = zf
		total += zf.UncompressedSize64
		if total > uint64(limits.MaxTotal) { //nolint:gosec // G115: limits are positive
			return nil, fmt.Errorf("%w: members total more than %d bytes", ErrInvalid, limits.MaxTotal)
		}
	}
	mf, ok := byName[ManifestName]
	if !ok {
		return nil, fmt.Errorf("%w: no %s", ErrInvalid, ManifestName)
	}
	if mf.UncompressedSize64 > uint64(limits.MaxManifest) { //nolint:gosec // G115: limits are positive
		return nil, fmt.Errorf("%w: %s too large", ErrInvalid, ManifestName)
	}
	var buf bytes.Buffer
	if err := readMember(mf, &buf, limits.MaxManifest); err != nil {
		return nil, err
	}
	m, err := parseManifest(buf.Bytes())
	if err != nil {
		return nil, err
	}
	if latest := store.LatestSchemaVersion(); m.SchemaVersion > latest {
		return nil, fmt.Errorf("%w: the snapshot's database is at schema %d and this reticle knows up to %d: restore it with a newer reticle",
			store.ErrSchemaTooNew, m.SchemaVersion, latest)
	}
	listed := make(map[string]bool, len(m.Files))
	for _, fe := range m.Files {
		zf, ok := byName[fe.Name]
		switch {
		case fe.Name == ManifestName || !allowedMember(fe.Name):
			return nil, fmt.Errorf("%w: manifest lists %q", ErrInvalid, clip(fe.Name))
		case listed[fe.Name]:
			return nil, fmt.Errorf("%w: manifest lists %q twice", ErrInvalid, fe.Name)
		case !ok:
			return nil, fmt.Errorf("%w: %s is in the manifest but not in the archive", ErrInvalid, fe.Name)
		case fe.Size < 0 || uint64(fe.Size) != zf.UncompressedSize64:
			return nil, fmt.Errorf("%w: %s size differs from the manifest", ErrInvalid, fe.Name)
		case len(fe.SHA256) != 64:
			return nil, fmt.Errorf("%w: %s has no SHA-256 in the manifest", ErrInvalid, fe.Name)
		}
		listed[fe.Name] = true
	}
	for name := range byName {
		if name != ManifestName && !listed[name] {
			return nil, fmt.Errorf("%w: %s is not in the manifest", ErrInvalid, name)
		}
	}
	if listed[DatabaseFile] == listed[PostgresDumpFile] {
		return nil, fmt.Errorf("%w: not exactly one of %s and %s", ErrInvalid, DatabaseFile, PostgresDumpFile)
	}
	return &archive{f: f, zr: zr, manifest: m, byName: byName, limits: limits}, nil
}

// checkMember refuses a member by its header alone: a name off the allow-list (which excludes absolute
// paths, "..", backslashes and anything encoded), a link, device or directory, encryption, an unknown
// compression method, or a declared size over the limit.
func checkMember(zf *zip.File, limits Limits) error {
	if !allowedMember(zf.Name) {
		return fmt.Errorf("%w: %w: member %q is not one a snapshot holds", ErrInvalid, ErrUnsafeName, clip(zf.Name))
	}
	if !zf.Mode().IsRegular() {
		return fmt.Errorf("%w: %w: member %s is not a regular file (%v)", ErrInvalid, ErrUnsafeName, zf.Name, zf.Mode().Type())
	}
	if zf.Flags&0x1 != 0 {
		return fmt.Errorf("%w: member %s is encrypted", ErrInvalid, zf.Name)
	}
	if zf.Method != zip.Store && zf.Method != zip.Deflate {
		return fmt.Errorf("%w: member %s uses compression method %d", ErrInvalid, zf.Name, zf.Method)
	}
	if zf.UncompressedSize64 > uint64(limits.MaxMember) { //nolint:gosec // G115: limits are positive
		return fmt.Errorf("%w: member %s is over %d bytes", ErrInvalid, zf.Name, limits.MaxMember)
	}
	return nil
}

// readMember copies at most limit bytes of zf to w; archive/zip checks the declared size and CRC.
func readMember(zf *zip.File, w io.Writer, limit int64) error {
	r, err := zf.Open()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, zf.Name, err)
	}
	defer func() { _ = r.Close() }()
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, zf.Name, err)
	}
	if n > limit {
		return fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, zf.Name, limit)
	}
	return nil
}

// copyChecked copies one listed member to w and checks its SHA-256 against the manifest.
func (a *archive) copyChecked(fe File, w io.Writer) error {
	zf := a.byName[fe.Name]
	h := sha256.New()
	if err := readMember(zf, io.MultiWriter(w, h), a.limits.MaxMember); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != fe.SHA256 {
		return fmt.Errorf("%w: %s does not match its SHA-256 in the manifest", ErrInvalid, fe.Name)
	}
	return nil
}

// Verify checks an archive completely without writing anything: its structure, its manifest, the
// schema version and the SHA-256 of every member. It returns the manifest of a valid archive.
func Verify(path string, limits Limits) (Manifest, error) {
	a, err := openArchive(path, limits)
	if err != nil {
		return Manifest{}, err
	}
	defer func() { _ = a.Close() }()
	for _, fe := range a.manifest.Files {
		if err := a.copyChecked(fe, io.Discard); err != nil {
			return Manifest{}, err
		}
	}
	return a.manifest, nil
}

// ReadManifest returns the manifest of an archive after checking its structure (not member hashes).
func ReadManifest(path string) (Manifest, error) {
	a, err := openArchive(path, Limits{})
	if err != nil {
		return Manifest{}, err
	}
	m := a.manifest
	if err := a.Close(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// IsInvalid reports whether err says an archive was refused (as opposed to an I/O failure).
func IsInvalid(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, store.ErrSchemaTooNew)
}
