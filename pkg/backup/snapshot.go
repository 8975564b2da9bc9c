package backup

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// CreateOptions describe one snapshot.
type CreateOptions struct {
	Reason  string           // manual, scheduled, premigrate or prerestore
	Version string           // the Reticle version recorded in the manifest
	Now     func() time.Time // nil means time.Now
}

// Create writes a snapshot of the data dir to out: a copy of st's database made with VACUUM INTO
// (consistent while the node runs and writes), the identity files, attachments and transport state.
// The archive is written to a temp name beside out, fsynced, then renamed, so out either does not
// exist or is complete. st may be a live store or one opened with store.Options.SkipMigrate.
func Create(ctx context.Context, st *store.Store, dataDir, out string, opts CreateOptions) (Manifest, error) {
	// An attachment a message in the copy needs can be deleted (its last message deleted) between the
	// database copy and the file copy; such an archive would restore a message without its file, so
	// the snapshot is taken again. A file that stays missing (lost from the disk, not raced) must not
	// block every backup: the last attempt records it in the manifest's missing_attachments instead.
	for attempt := 1; ; attempt++ {
		m, err := create(ctx, st, dataDir, out, opts, attempt == 3)
		if attempt == 3 || !errors.Is(err, errAttachmentGone) {
			return m, err
		}
	}
}

// errAttachmentGone means an attachment the database copy refers to was deleted before it was copied.
var errAttachmentGone = errors.New("an attachment was deleted while the snapshot was taken")

func create(ctx context.Context, st *store.Store, dataDir, out string, opts CreateOptions, tolerant bool) (Manifest, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if opts.Reason == "" {
		opts.Reason = "manual"
	}
	work, err := os.MkdirTemp(dataDir, ".snapshot-")
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	if st.Postgres() {
		return createPostgres(ctx, st, dataDir, work, out, opts, tolerant, now)
	}
	dbCopy := filepath.Join(work, DatabaseFile)
	if err := st.VacuumInto(ctx, dbCopy); err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	m := Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: now().UTC(), ReticleVersion: opts.Version, Reason: opts.Reason}
	// Read the schema version and message count from the copy itself, so they describe exactly what
	// the archive holds.
	cp, err := store.Open(ctx, store.Options{Path: dbCopy, SkipMigrate: true})
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: reopen copy: %w", err)
	}
	m.SchemaVersion, err = cp.SchemaVersion(ctx)
	if err == nil {
		m.Messages, err = cp.MessageCount(ctx)
	}
	var refs map[string]bool
	if err == nil {
		refs, err = cp.AttachmentHashes(ctx)
	}
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	for _, p := range []string{dbCopy + "-wal", dbCopy + "-shm"} {
		_ = os.Remove(p)
	}
	members, missing, err := collect(dataDir, refs)
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	if len(missing) > 0 && !tolerant {
		return Manifest{}, fmt.Errorf("snapshot: %w (%d referenced attachment files absent)", errAttachmentGone, len(missing))
	}
	m.MissingAttachments = missing
	if err := writeArchive(ctx, out, DatabaseFile, dbCopy, dataDir, members, &m, tolerant); err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	return m, nil
}

// createPostgres is create for a store in PostgreSQL: the database part is a pg_dump of the store's
// schema (reticle.pgdump), and the manifest's schema version, message count and attachment list come
// from the live store right after the dump (pg_dump reads one snapshot; the attachment files are then
// a superset of what the dump refers to, or the missing ones are retried as for SQLite).
func createPostgres(ctx context.Context, st *store.Store, dataDir, work, out string, opts CreateOptions, tolerant bool,
	now func() time.Time) (Manifest, error) {
	dump := filepath.Join(work, PostgresDumpFile)
	if err := st.Dump(ctx, dump); err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	m := Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: now().UTC(), ReticleVersion: opts.Version, Reason: opts.Reason}
	var err error
	m.SchemaVersion, err = st.SchemaVersion(ctx)
	if err == nil {
		m.Messages, err = st.MessageCount(ctx)
	}
	var refs map[string]bool
	if err == nil {
		refs, err = st.AttachmentHashes(ctx)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	members, missing, err := collect(dataDir, refs)
	if err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	if len(missing) > 0 && !tolerant {
		return Manifest{}, fmt.Errorf("snapshot: %w (%d referenced attachment files absent)", errAttachmentGone, len(missing))
	}
	m.MissingAttachments = missing
	if err := writeArchive(ctx, out, PostgresDumpFile, dump, dataDir, members, &m, tolerant); err != nil {
		return Manifest{}, fmt.Errorf("snapshot: %w", err)
	}
	return m, nil
}

// collect lists the files of the data dir a snapshot holds besides the database, in a stable order.
// Files that are not Reticle's own (temp files mid-write, anything not on the allow-list) are skipped,
// and so are attachments the database copy does not refer to (written after the copy, or strays):
// the archive holds exactly the attachments its database needs, and each of them.
// The attachments referred to but absent are returned as missing.
func collect(dataDir string, refs map[string]bool) (out, missing []string, err error) {
	found := map[string]bool{}
	for _, dir := range []string{IdentitiesDir, AttachmentDir, RNSDir} {
		base := filepath.Join(dataDir, dir)
		err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				if p != base && d.Type()&fs.ModeSymlink != 0 {
					return fs.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(dataDir, p)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			if !d.Type().IsRegular() || !allowedMember(name) {
				return nil
			}
			if path.Dir(name) == AttachmentDir {
				if !refs[path.Base(name)] {
					return nil
				}
				found[path.Base(name)] = true
			}
			out = append(out, name)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	for h := range refs {
		if !found[h] {
			missing = append(missing, h)
		}
	}
	sort.Strings(out)
	sort.Strings(missing)
	return out, missing, nil
}

// writeArchive writes the zip to a temp file beside out, then fsyncs and renames it.
// With tolerant set, an attachment deleted since it was listed is recorded as missing instead of
// failing the snapshot.
func writeArchive(ctx context.Context, out, dbName, dbCopy, dataDir string, members []string, m *Manifest, tolerant bool) error {
	return writeAtomic(out, func(f *os.File) error { return fillArchive(ctx, f, dbName, dbCopy, dataDir, members, m, tolerant) })
}

func fillArchive(ctx context.Context, f *os.File, dbName, dbCopy, dataDir string, members []string, m *Manifest, tolerant bool) error {
	zw := zip.NewWriter(f)
	if err := addFile(zw, dbName, dbCopy, zip.Deflate, m); err != nil {
		return err
	}
	for _, name := range members {
		if err := ctx.Err(); err != nil {
			return err
		}
		method := zip.Deflate
		if path.Dir(name) == AttachmentDir {
			method = zip.Store // mostly compressed media already
		}
		err := addFile(zw, name, filepath.Join(dataDir, filepath.FromSlash(name)), method, m)
		if errors.Is(err, fs.ErrNotExist) {
			if path.Dir(name) != AttachmentDir {
				continue // a state file replaced since it was listed
			}
			if !tolerant {
				return fmt.Errorf("%s: %w", name, errAttachmentGone)
			}
			m.MissingAttachments = append(m.MissingAttachments, path.Base(name))
			continue
		}
		if err != nil {
			return err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: m.CreatedAt})
	if err != nil {
		return err
	}
	if _, err := w.Write(mb); err != nil {
		return err
	}
	return zw.Close()
}

// writeAtomic writes out through a 0600 temp file beside it that fill writes, then fsyncs, renames and
// fsyncs the directory: out either does not exist or is complete. The temp file is removed on failure.
func writeAtomic(out string, fill func(*os.File) error) (err error) {
	dir := filepath.Dir(out)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(out)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp) //nolint:gosec // G703: tmp is the name CreateTemp just made
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil { //nolint:gosec // G703: out is the owner's --out or a checked snapshot name
		return err
	}
	return syncDir(dir)
}

func addFile(zw *zip.Writer, name, src string, method uint16, m *Manifest) error {
	in, err := os.Open(src) //nolint:gosec // G304: src is the data dir joined with an allow-listed name
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", name)
	}
	hdr := &zip.FileHeader{Name: name, Method: method, Modified: st.ModTime()}
	hdr.SetMode(0o600)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	m.Files = append(m.Files, File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// syncDir fsyncs a directory so a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // G304: a directory this package writes into
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
