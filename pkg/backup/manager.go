package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// Defaults of the snapshot schedule.
const (
	DefaultInterval = 12 * time.Hour
	DefaultKeep     = 5
)

// ErrNotFound means no snapshot has the name asked for.
var ErrNotFound = errors.New("snapshot not found")

// Options configure a Manager.
type Options struct {
	DataDir  string
	Interval time.Duration // scheduled snapshots; 0 means DefaultInterval, < 0 turns them off
	Keep     int           // scheduled snapshots kept; 0 means DefaultKeep
	Version  string        // the Reticle version recorded in manifests
	Limits   Limits        // for uploaded restores
	Logger   *slog.Logger
	Now      func() time.Time
}

// Info describes one snapshot in the snapshots dir.
type Info struct {
	Name          string    `json:"name"`
	Size          int64     `json:"size"`
	CreatedAt     time.Time `json:"created_at"`
	Reason        string    `json:"reason"`
	Messages      int64     `json:"messages"`
	SchemaVersion int       `json:"schema_version"`
	// Problem is set when the file is not a valid snapshot (it is listed so the owner can delete it).
	Problem string `json:"problem,omitempty"`
}

// Manager keeps the node's snapshots dir: on-demand and scheduled snapshots with retention, downloads,
// deletes and uploaded restores staged for the next start.
type Manager struct {
	opts Options
	dir  string
	st   *store.Store
	log  *slog.Logger

	mu      sync.Mutex // one snapshot at a time
	cancel  context.CancelFunc
	done    chan struct{}
	warning string
}

// New returns a Manager for opts.DataDir/snapshots, creating the dir 0700.
func New(opts Options, st *store.Store) (*Manager, error) {
	if opts.DataDir == "" || st == nil {
		return nil, errors.New("backup: data dir and store are required")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(opts.DataDir, SnapshotsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapshots dir: %w", err)
	}
	return &Manager{opts: opts, dir: dir, st: st, log: log}, nil
}

// Dir is the snapshots dir.
func (m *Manager) Dir() string { return m.dir }

// Warning is the last retention warning ("" when none), for the UI.
func (m *Manager) Warning() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.warning
}

// List returns the snapshots, newest first. Temp files and foreign names are not listed.
func (m *Manager) List(context.Context) ([]Info, error) {
	es, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	out := []Info{}
	for _, e := range es {
		if CheckSnapshotName(e.Name()) != nil || !e.Type().IsRegular() {
			continue
		}
		out = append(out, m.info(e.Name()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

func (m *Manager) info(name string) Info {
	in := Info{Name: name}
	if st, err := os.Lstat(filepath.Join(m.dir, name)); err == nil {
		in.Size, in.CreatedAt = st.Size(), st.ModTime().UTC()
	}
	man, err := ReadManifest(filepath.Join(m.dir, name))
	if err != nil {
		in.Problem = "not a valid snapshot"
		return in
	}
	in.CreatedAt, in.Reason, in.Messages, in.SchemaVersion = man.CreatedAt, man.Reason, man.Messages, man.SchemaVersion
	return in
}

// Create takes a snapshot now. reason is manual or scheduled; scheduled snapshots are then rotated.
func (m *Manager) Create(ctx context.Context, reason string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := snapshotName(m.opts.Now(), reason)
	if CheckSnapshotName(name) != nil {
		return Info{}, fmt.Errorf("snapshot: unknown reason %q", reason)
	}
	if _, err := os.Lstat(filepath.Join(m.dir, name)); err == nil {
		return Info{}, fmt.Errorf("snapshot: %s already exists", name)
	}
	man, err := Create(ctx, m.st, m.opts.DataDir, filepath.Join(m.dir, name), CreateOptions{Reason: reason, Version: m.opts.Version, Now: m.opts.Now})
	if err != nil {
		return Info{}, err
	}
	m.log.Info("snapshot written", "name", name, "reason", reason)
	if n := len(man.MissingAttachments); n > 0 {
		m.log.Warn("snapshot written without attachment files missing from the data dir", "name", name, "missing", n)
	}
	if reason == "scheduled" {
		m.rotate()
	}
	return m.info(name), nil
}

// rotate deletes the oldest scheduled snapshots beyond Keep, unless the newest one holds less than
// half the messages of the one before it: a database that suddenly lost most of its rows must not
// push the good snapshots out, so then every snapshot is kept and a warning is raised.
func (m *Manager) rotate() {
	all, err := m.List(context.Background())
	if err != nil {
		m.log.Warn("snapshot rotation", "err", err)
		return
	}
	var sched []Info
	for _, in := range all {
		if in.Reason == "scheduled" && in.Problem == "" {
			sched = append(sched, in)
		}
	}
	if len(sched) <= m.opts.Keep {
		return
	}
	if newest, prev := sched[0], sched[1]; newest.Messages*2 < prev.Messages {
		m.warning = fmt.Sprintf("the newest snapshot %s holds %d messages, the one before %d: keeping every snapshot; check the data before deleting any",
			newest.Name, newest.Messages, prev.Messages)
		m.log.Warn("snapshot rotation paused: the database lost most of its messages", "newest", newest.Name,
			"messages", newest.Messages, "previous_messages", prev.Messages)
		return
	}
	m.warning = ""
	for _, in := range sched[m.opts.Keep:] {
		if err := RemoveInDir(m.dir, in.Name); err != nil {
			m.log.Warn("snapshot rotation", "name", in.Name, "err", err)
			continue
		}
		m.log.Info("snapshot rotated out", "name", in.Name)
	}
}

// Open opens a snapshot for download; the name is checked and resolved inside the snapshots dir.
func (m *Manager) Open(_ context.Context, name string) (*os.File, Info, error) {
	f, st, err := OpenInDir(m.dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, Info{}, err
	}
	return f, Info{Name: name, Size: st.Size(), CreatedAt: st.ModTime().UTC()}, nil
}

// Delete removes a snapshot; the name is checked and resolved inside the snapshots dir.
func (m *Manager) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := RemoveInDir(m.dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return err
}

// Seal writes snapshot name to w, sealed with passphrase (for a download that leaves the machine).
func (m *Manager) Seal(_ context.Context, name, passphrase string, w io.Writer) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	if err := CheckSnapshotName(name); err != nil {
		return err
	}
	f, _, err := OpenInDir(m.dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return Seal(w, f, passphrase)
}

// StageRestore reads an uploaded archive (at most Limits.MaxArchive bytes), opens it with passphrase
// when it is sealed, verifies it completely and stages it as the pending restore that the next start
// applies. The running node's data is untouched.
func (m *Manager) StageRestore(ctx context.Context, r io.Reader, passphrase string) (Manifest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limits := m.opts.Limits.norm()
	f, err := os.CreateTemp(m.opts.DataDir, ".upload-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("restore upload: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	n, err := io.Copy(f, io.LimitReader(r, limits.MaxArchive+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("restore upload: %w", err)
	}
	if n > limits.MaxArchive {
		return Manifest{}, fmt.Errorf("%w: the upload is over %d bytes", ErrInvalid, limits.MaxArchive)
	}
	plain := f.Name()
	if sealed, err := IsSealedFile(plain); err != nil {
		return Manifest{}, fmt.Errorf("restore upload: %w", err)
	} else if sealed {
		if plain, err = UnsealFile(f.Name(), m.opts.DataDir, passphrase, limits); err != nil {
			return Manifest{}, err
		}
		defer func() { _ = os.Remove(plain) }()
	}
	man, err := StagePending(ctx, plain, m.opts.DataDir, limits)
	if err != nil {
		return Manifest{}, err
	}
	m.log.Warn("restore staged: it replaces the data at the next start", "created_at", man.CreatedAt, "messages", man.Messages)
	return man, nil
}

// Pending returns the manifest of the staged restore, if any.
func (m *Manager) Pending() (Manifest, bool) {
	man, ok, err := PendingManifest(m.opts.DataDir)
	return man, ok && err == nil
}

// CancelPending drops a staged restore.
func (m *Manager) CancelPending() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return os.RemoveAll(filepath.Join(m.opts.DataDir, PendingDir))
}

// firstDelay is when a node without scheduled snapshots takes its first: soon, but not during startup.
const firstDelay = 10 * time.Minute

// nextDue is how long until the next scheduled snapshot: Interval after the newest scheduled one, or
// firstDelay (at most Interval) when there is none.
func (m *Manager) nextDue() time.Duration {
	all, _ := m.List(context.Background())
	for _, in := range all {
		if in.Reason == "scheduled" && in.Problem == "" {
			return max(0, in.CreatedAt.Add(m.opts.Interval).Sub(m.opts.Now()))
		}
	}
	return min(firstDelay, m.opts.Interval)
}

// Start runs the schedule until Close. With Interval < 0 it does nothing.
func (m *Manager) Start(context.Context) error {
	if m.opts.Interval < 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		for {
			t := time.NewTimer(m.nextDue())
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if _, err := m.Create(ctx, "scheduled"); err != nil && ctx.Err() == nil {
				m.log.Error("scheduled snapshot failed", "err", err)
				// Try again after a full interval rather than in a tight loop.
				select {
				case <-ctx.Done():
					return
				case <-time.After(m.opts.Interval):
				}
			}
		}
	}()
	return nil
}

// Close stops the schedule, waiting for a snapshot in progress to end (it is cancelled).
func (m *Manager) Close() error {
	if m.cancel != nil {
		m.cancel()
		<-m.done
		m.cancel = nil
	}
	return nil
}

// MaxUpload is the largest archive StageRestore accepts, in bytes.
func (m *Manager) MaxUpload() int64 { return m.opts.Limits.norm().MaxArchive }
