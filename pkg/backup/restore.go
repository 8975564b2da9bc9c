package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// PendingDir is a verified, staged restore waiting inside the data dir for the node to stop; the next
// start applies it (see [ApplyPending]).
const PendingDir = "restore-pending"

// replaced are the entries of the data dir a restore replaces as a whole.
var replaced = []string{DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm", IdentitiesDir, AttachmentDir, RNSDir}

// RestoreOptions configure Restore and ApplyPending.
type RestoreOptions struct {
	Limits  Limits
	Version string // the running Reticle version, for the pre-restore snapshot's manifest
	Now     func() time.Time
}

// ErrPostgresDump means a snapshot of a PostgreSQL store was given to restore: reticle restores SQLite
// snapshots only; the dump goes back through pg_restore.
var ErrPostgresDump = errors.New("this snapshot holds a PostgreSQL dump (reticle.pgdump): unzip it, restore the " +
	"database with pg_restore --clean --if-exists --no-owner --dbname URL reticle.pgdump, and copy identities/, " +
	"attachments/ and rns/ into the stopped node's data dir")

// Stage verifies the archive and unpacks it into a new directory inside dataDir (so the later swap is
// a rename on one file system). Every member is written through an [os.Root] on that directory, with
// its hash checked; on any error the directory is removed and nothing else was touched.
func Stage(ctx context.Context, archivePath, dataDir string, limits Limits) (string, Manifest, error) {
	a, err := openArchive(archivePath, limits)
	if err != nil {
		return "", Manifest{}, err
	}
	defer func() { _ = a.Close() }()
	if _, ok := a.byName[PostgresDumpFile]; ok {
		return "", Manifest{}, fmt.Errorf("%w: %w", ErrInvalid, ErrPostgresDump)
	}
	dir, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return "", Manifest{}, fmt.Errorf("stage restore: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(dir)
		}
	}()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", Manifest{}, fmt.Errorf("stage restore: %w", err)
	}
	defer func() { _ = root.Close() }()
	for _, fe := range a.manifest.Files {
		if err := ctx.Err(); err != nil {
			return "", Manifest{}, err
		}
		if err := stageMember(root, a, fe); err != nil {
			return "", Manifest{}, err
		}
	}
	mf := a.byName[ManifestName]
	if err := writeInRoot(root, ManifestName, func(f *os.File) error { return readMember(mf, f, a.limits.MaxManifest) }); err != nil {
		return "", Manifest{}, err
	}
	// The database must open and say the schema the manifest says.
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, DatabaseFile), SkipMigrate: true})
	if err != nil {
		return "", Manifest{}, fmt.Errorf("%w: the database does not open: %w", ErrInvalid, err)
	}
	v, err := st.SchemaVersion(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", Manifest{}, fmt.Errorf("%w: the database does not open: %w", ErrInvalid, err)
	}
	if v != a.manifest.SchemaVersion {
		return "", Manifest{}, fmt.Errorf("%w: the database is at schema %d, the manifest says %d", ErrInvalid, v, a.manifest.SchemaVersion)
	}
	ok = true
	return dir, a.manifest, nil
}

func stageMember(root *os.Root, a *archive, fe File) error {
	if d := path.Dir(fe.Name); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("stage %s: %w", fe.Name, err)
		}
	}
	return writeInRoot(root, fe.Name, func(f *os.File) error { return a.copyChecked(fe, f) })
}

// writeInRoot creates name (which must not exist) inside root, 0600, fills it and fsyncs it.
func writeInRoot(root *os.Root, name string, fill func(*os.File) error) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	if err := fill(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("stage %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	return nil
}

// Restore replaces the data of a stopped node with the archive: it verifies and stages the archive,
// snapshots the current data into snapshots/ (reason prerestore), then swaps the staged files in.
// The caller must hold the data dir's [Lock]. On error nothing in the data dir changed (apart from a
// pre-restore snapshot that may have been written). It returns the restored archive's manifest and the
// name of the pre-restore snapshot ("" when there was no database to save).
func Restore(ctx context.Context, archivePath, dataDir string, opts RestoreOptions) (Manifest, string, error) {
	staged, m, err := Stage(ctx, archivePath, dataDir, opts.Limits)
	if err != nil {
		return Manifest{}, "", err
	}
	defer func() { _ = os.RemoveAll(staged) }()
	saved, err := applyStaged(ctx, staged, dataDir, opts)
	return m, saved, err
}

// StagePending verifies and stages an archive as the data dir's pending restore, which the next start
// applies; a pending restore staged earlier is replaced. It is how a running node restores: the live
// database is never swapped under open connections.
func StagePending(ctx context.Context, archivePath, dataDir string, limits Limits) (Manifest, error) {
	staged, m, err := Stage(ctx, archivePath, dataDir, limits)
	if err != nil {
		return Manifest{}, err
	}
	pending := filepath.Join(dataDir, PendingDir)
	if err := os.RemoveAll(pending); err != nil {
		_ = os.RemoveAll(staged)
		return Manifest{}, fmt.Errorf("stage restore: %w", err)
	}
	if err := os.Rename(staged, pending); err != nil {
		_ = os.RemoveAll(staged)
		return Manifest{}, fmt.Errorf("stage restore: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return Manifest{}, fmt.Errorf("stage restore: %w", err)
	}
	return m, nil
}

// PendingManifest returns the manifest of the staged pending restore, or ok false when there is none.
func PendingManifest(dataDir string) (Manifest, bool, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, PendingDir, ManifestName)) //nolint:gosec // G304: a fixed name in the data dir
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, err
	}
	m, err := parseManifest(b)
	return m, err == nil, err
}

// ApplyPending applies a pending restore staged by [StagePending], if there is one; the caller holds
// the [Lock] and has not opened the store yet. applied is false when nothing was pending.
func ApplyPending(ctx context.Context, dataDir string, opts RestoreOptions) (m Manifest, saved string, applied bool, err error) {
	m, ok, err := PendingManifest(dataDir)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("pending restore: %w", err)
		}
		return Manifest{}, "", false, err
	}
	pending := filepath.Join(dataDir, PendingDir)
	saved, err = applyStaged(ctx, pending, dataDir, opts)
	if err != nil {
		return Manifest{}, "", false, fmt.Errorf("pending restore: %w", err)
	}
	_ = os.RemoveAll(pending)
	return m, saved, true, nil
}

func applyStaged(ctx context.Context, staged, dataDir string, opts RestoreOptions) (string, error) {
	saved, err := saveCurrent(ctx, dataDir, opts)
	if err != nil {
		return "", fmt.Errorf("snapshot the current data before restoring: %w", err)
	}
	if err := swap(staged, dataDir); err != nil {
		return saved, err
	}
	return saved, nil
}

// saveCurrent snapshots the data dir's current database and files into snapshots/ before a restore.
func saveCurrent(ctx context.Context, dataDir string, opts RestoreOptions) (string, error) {
	if _, err := os.Stat(filepath.Join(dataDir, DatabaseFile)); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	st, err := store.Open(ctx, store.Options{Path: filepath.Join(dataDir, DatabaseFile), SkipMigrate: true})
	if err != nil {
		return "", err
	}
	defer func() { _ = st.Close() }()
	return createIn(ctx, st, dataDir, "prerestore", opts.Version, opts.Now)
}

// CreateIn writes a snapshot of st and dataDir into dataDir/snapshots under a new name, which it returns.
func CreateIn(ctx context.Context, st *store.Store, dataDir, reason, version string) (string, error) {
	return createIn(ctx, st, dataDir, reason, version, nil)
}

func createIn(ctx context.Context, st *store.Store, dataDir, reason, version string, now func() time.Time) (string, error) {
	if now == nil {
		now = time.Now
	}
	dir := filepath.Join(dataDir, SnapshotsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := snapshotName(now(), reason)
	if err := CheckSnapshotName(name); err != nil {
		return "", err
	}
	if _, err := Create(ctx, st, dataDir, filepath.Join(dir, name), CreateOptions{Reason: reason, Version: version, Now: now}); err != nil {
		return "", err
	}
	return name, nil
}

// swap moves the replaced entries of dataDir aside and the staged ones in; if any step fails, every
// step already done is undone, so the data dir is as it was.
func swap(staged, dataDir string) (err error) {
	old, err := os.MkdirTemp(dataDir, ".restore-old-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	type move struct{ from, to string }
	var done []move
	defer func() {
		if err == nil {
			_ = os.RemoveAll(old)
			return
		}
		for i := len(done) - 1; i >= 0; i-- {
			_ = os.Rename(done[i].to, done[i].from)
		}
		_ = os.RemoveAll(old)
	}()
	do := func(from, to string) error {
		if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		done = append(done, move{from, to})
		return nil
	}
	for _, e := range replaced {
		if err := do(filepath.Join(dataDir, e), filepath.Join(old, e)); err != nil {
			return err
		}
	}
	for _, e := range replaced {
		if err := do(filepath.Join(staged, e), filepath.Join(dataDir, e)); err != nil {
			return err
		}
	}
	if err := syncDir(dataDir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// snapshotName names a snapshot made at t for reason.
func snapshotName(t time.Time, reason string) string {
	t = t.UTC()
	return fmt.Sprintf("reticle-%s-%03d-%s.zip", t.Format("20060102-150405"), t.Nanosecond()/1e6, reason)
}
