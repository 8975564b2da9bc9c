package integrity

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// AtRestStatus is what [Open] found about the data dir.
type AtRestStatus string

// At-rest statuses.
const (
	// AtRestFirstRun means there was no integrity.json: nothing to compare with.
	AtRestFirstRun AtRestStatus = "first-run"
	// AtRestOK means the files are as recorded at the last clean shutdown.
	AtRestOK AtRestStatus = "ok"
	// AtRestChanged means files changed after a clean shutdown, while Reticle was not running.
	AtRestChanged AtRestStatus = "changed"
	// AtRestUnclean means the previous run did not shut down cleanly: hashes were not recorded, so
	// nothing can be compared. This is not evidence of tampering.
	AtRestUnclean AtRestStatus = "unclean"
	// AtRestUnknown means integrity.json was unreadable or corrupt; it is replaced.
	AtRestUnknown AtRestStatus = "unknown"
	// AtRestTampered means identity files differ from the second (database) record, or that record is
	// unreadable.
	AtRestTampered AtRestStatus = "tampered"
	// AtRestNoRecord means identity files exist but neither a clean integrity.json nor the second record
	// vouches for them.
	AtRestNoRecord AtRestStatus = "no-record"
	// AtRestSkipped means the mode is off.
	AtRestSkipped AtRestStatus = "skipped"
)

// Change kinds.
const (
	ChangeAdded    = "added"
	ChangeModified = "modified"
	ChangeRemoved  = "removed"
)

// Change is one data file that differs from the last clean shutdown.
type Change struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// String formats a change as "identities/x (modified)".
func (c Change) String() string { return c.Path + " (" + c.Kind + ")" }

// AtRestOptions configure [Open] and [Acknowledge].
type AtRestOptions struct {
	// Mode is enforce, warn or off; empty means warn. In enforce mode Open refuses to proceed when an
	// identity file was modified or added while Reticle was stopped, until the owner acknowledges it.
	Mode Mode
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AtRestReport is what [Open] found, for the log and the UI banner.
type AtRestReport struct {
	Status            AtRestStatus `json:"status"`
	Message           string       `json:"message"`
	Changes           []Change     `json:"changes,omitempty"`
	LastCleanShutdown time.Time    `json:"last_clean_shutdown,omitzero"`
}

// AtRest tracks the data dir between runs. Open it before the store is opened; call
// RecordCleanShutdown last, after the store has stopped writing.
type AtRest struct {
	dir    string
	mode   Mode
	log    *slog.Logger
	now    func() time.Time
	report AtRestReport

	mu      sync.Mutex
	done    bool
	checked bool            // CheckRecord ran
	record  *identityRecord // the second record as loaded or last saved
	keep    map[string]bool // entries Seal must not replace (failed the check in warn mode)
}

func (o AtRestOptions) norm() (AtRestOptions, error) {
	if o.Mode == "" {
		o.Mode = ModeWarn
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return o, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Open reads integrity.json in dataDir, compares the identity files and reticle.db with the hashes of the
// last clean shutdown and marks the state "running". A corrupt state file gives AtRestUnknown, never an
// error. In enforce mode, identity files modified or added since the last clean shutdown make Open fail
// with [ErrAtRestChanged] (nothing is written) until [Acknowledge] accepts them.
func Open(dataDir string, opts AtRestOptions) (*AtRest, error) {
	opts, err := opts.norm()
	if err != nil {
		return nil, err
	}
	a := &AtRest{dir: dataDir, mode: opts.Mode, log: opts.Logger, now: opts.Now}
	if opts.Mode == ModeOff {
		a.report = AtRestReport{Status: AtRestSkipped, Message: "at-rest check is off"}
		return a, nil
	}
	prev, rep, err := a.examine(true)
	if err != nil {
		return nil, err
	}
	a.report = rep
	if rep.Status == AtRestChanged {
		if refused := refusedChanges(rep.Changes); len(refused) > 0 && opts.Mode == ModeEnforce {
			a.log.Error("identity files changed while reticle was not running", "changes", joinChanges(refused))
			return nil, refusedError(refused, dataDir)
		}
		a.log.Warn("data changed while reticle was not running", "changes", joinChanges(rep.Changes))
	}
	next := &state{Version: stateVersion, State: runStateRunning, UpdatedAt: a.now().UTC(), Files: map[string]fileHash{}}
	if prev != nil {
		next.Files, next.Acknowledged, next.CleanShutdownAt = prev.Files, prev.Acknowledged, prev.CleanShutdownAt
	}
	if err := writeState(dataDir, next); err != nil {
		return nil, fmt.Errorf("at-rest check: %w", err)
	}
	return a, nil
}

// Inspect reports what [Open] would find without changing anything (for `reticle verify`). The error
// wraps [ErrAtRestChanged] when Open would refuse to start in enforce mode; the report is filled in
// either way.
func Inspect(dataDir string, opts AtRestOptions) (AtRestReport, error) {
	opts, err := opts.norm()
	if err != nil {
		return AtRestReport{}, err
	}
	if opts.Mode == ModeOff {
		return AtRestReport{Status: AtRestSkipped, Message: "at-rest check is off"}, nil
	}
	a := &AtRest{dir: dataDir, mode: opts.Mode, log: slog.New(slog.DiscardHandler), now: opts.Now}
	_, rep, err := a.examine(false)
	if err != nil {
		return rep, err
	}
	if rep.Status == AtRestUnclean {
		rep.Message = "integrity.json says reticle is running: it is running now, or it did not shut down cleanly; nothing compared"
	}
	if refused := refusedChanges(rep.Changes); len(refused) > 0 && opts.Mode == ModeEnforce {
		return rep, refusedError(refused, dataDir)
	}
	return rep, nil
}

// examine loads the previous state and compares the data files with it. With keepCorrupt a corrupt
// integrity.json is renamed to integrity.json.corrupt.
func (a *AtRest) examine(keepCorrupt bool) (*state, AtRestReport, error) {
	if st, err := os.Stat(a.dir); err != nil || !st.IsDir() {
		return nil, AtRestReport{}, fmt.Errorf("at-rest check: data dir %s: not a directory", a.dir)
	}
	prev, rep := a.load(keepCorrupt)
	if prev == nil || prev.State != runStateClean {
		return prev, rep, nil
	}
	now, err := hashDataFiles(a.dir)
	if err != nil {
		return nil, rep, fmt.Errorf("at-rest check: %w", err)
	}
	rep.LastCleanShutdown = prev.CleanShutdownAt
	rep.Changes = diffFiles(prev.Files, now)
	if len(rep.Changes) == 0 {
		rep.Status, rep.Message = AtRestOK, "data unchanged since the last clean shutdown"
	} else {
		rep.Status = AtRestChanged
		rep.Message = "changed while reticle was not running: " + joinChanges(rep.Changes)
	}
	return prev, rep, nil
}

func refusedError(refused []Change, dataDir string) error {
	return fmt.Errorf("%w: %s; if this was you, run `reticle verify --ack-at-rest --data-dir %s`",
		ErrAtRestChanged, joinChanges(refused), dataDir)
}

// load reads the previous state and classifies first-run, unclean and unknown. It returns the parsed
// state (nil for first-run and unknown).
func (a *AtRest) load(keepCorrupt bool) (*state, AtRestReport) {
	p := filepath.Join(a.dir, StateFile)
	b, err := readLimited(p, maxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		if files, ferr := readIdentityFiles(a.dir); ferr != nil || len(files) > 0 {
			a.log.Warn("at-rest check: " + StateFile + " missing while identity files exist")
			return nil, AtRestReport{Status: AtRestUnknown, Message: StateFile + " missing while identity files exist"}
		}
		a.log.Info("at-rest check: first run, nothing to compare")
		return nil, AtRestReport{Status: AtRestFirstRun, Message: "first run: no previous state to compare"}
	}
	if st, lerr := os.Lstat(p); lerr == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s); symlinks are not followed", st.Mode().Type())
	}
	var s *state
	if err == nil {
		s, err = parseState(b)
	}
	if err != nil {
		msg := fmt.Sprintf("%s unreadable (%s); previous state unknown, starting fresh", StateFile, oneLine(err.Error()))
		if keepCorrupt {
			if rerr := os.Rename(p, p+".corrupt"); rerr == nil {
				msg += "; kept as " + StateFile + ".corrupt"
			}
		}
		a.log.Warn("at-rest check: "+StateFile+" unreadable", "error", oneLine(err.Error()))
		return nil, AtRestReport{Status: AtRestUnknown, Message: msg}
	}
	if s.State == runStateRunning {
		a.log.Info("at-rest check: previous run did not shut down cleanly; nothing to compare")
		return s, AtRestReport{
			Status:            AtRestUnclean,
			Message:           "previous run did not shut down cleanly (crash or kill); hashes were not recorded, nothing compared",
			LastCleanShutdown: s.CleanShutdownAt,
		}
	}
	return s, AtRestReport{}
}

// Report returns what Open found.
func (a *AtRest) Report() AtRestReport {
	r := a.report
	r.Changes = append([]Change(nil), r.Changes...)
	return r
}

// RecordCleanShutdown runs checkpoint (which must leave reticle.db complete and stop all writes to it,
// e.g. a WAL checkpoint with TRUNCATE or closing the store), hashes the identity files and reticle.db and
// records a clean shutdown. If checkpoint fails nothing is recorded, so the next start reports
// AtRestUnclean. Calls after the first are no-ops.
func (a *AtRest) RecordCleanShutdown(checkpoint func() error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done || a.mode == ModeOff {
		return nil
	}
	if checkpoint != nil {
		if err := checkpoint(); err != nil {
			return fmt.Errorf("record clean shutdown: checkpoint: %w", err)
		}
	}
	files, err := hashDataFiles(a.dir)
	if err != nil {
		return fmt.Errorf("record clean shutdown: %w", err)
	}
	now := a.now().UTC()
	s := &state{Version: stateVersion, State: runStateClean, UpdatedAt: now, CleanShutdownAt: now, Files: files}
	// Keep acknowledgements, including one written by `reticle verify --ack-at-rest` meanwhile.
	if b, err := readLimited(filepath.Join(a.dir, StateFile), maxStateSize); err == nil {
		if old, err := parseState(b); err == nil {
			s.Acknowledged = old.Acknowledged
		}
	}
	if err := writeState(a.dir, s); err != nil {
		return fmt.Errorf("record clean shutdown: %w", err)
	}
	a.done = true
	a.log.Info("at-rest state recorded", "files", len(files))
	return nil
}

// Acknowledge accepts the current identity files and database as the new baseline (the owner says the
// change was theirs) and records the acknowledgement in integrity.json. It is what
// `reticle verify --ack-at-rest` runs; Reticle must not be running.
func Acknowledge(dataDir string, opts AtRestOptions) (AtRestReport, error) {
	opts, err := opts.norm()
	if err != nil {
		return AtRestReport{}, err
	}
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		return AtRestReport{}, fmt.Errorf("acknowledge: data dir %s: not a directory", dataDir)
	}
	a := &AtRest{dir: dataDir, mode: opts.Mode, log: opts.Logger, now: opts.Now}
	prev, _ := a.load(true)
	files, err := hashDataFiles(dataDir)
	if err != nil {
		return AtRestReport{}, fmt.Errorf("acknowledge: %w", err)
	}
	now := opts.Now().UTC()
	s := &state{Version: stateVersion, State: runStateClean, UpdatedAt: now, CleanShutdownAt: now, Files: files}
	var changes []Change
	if prev != nil {
		s.Acknowledged = prev.Acknowledged
		if prev.State == runStateClean {
			changes = diffFiles(prev.Files, files)
		}
	}
	rec := ackRecord{At: now, Changes: []string{}}
	for _, c := range changes {
		rec.Changes = append(rec.Changes, c.String())
	}
	s.Acknowledged = append(s.Acknowledged, rec)
	if n := len(s.Acknowledged); n > maxAcks {
		s.Acknowledged = s.Acknowledged[n-maxAcks:]
	}
	if err := writeState(dataDir, s); err != nil {
		return AtRestReport{}, fmt.Errorf("acknowledge: %w", err)
	}
	msg := fmt.Sprintf("acknowledged: %d files recorded as the new baseline", len(files))
	if len(changes) > 0 {
		msg += "; accepted changes: " + joinChanges(changes)
	}
	opts.Logger.Info("at-rest changes acknowledged", "changes", len(changes))
	return AtRestReport{Status: AtRestOK, Message: msg, Changes: changes, LastCleanShutdown: now}, nil
}

// refusedChanges are the changes enforce mode refuses: identity files modified or added.
func refusedChanges(cs []Change) []Change {
	var out []Change
	for _, c := range cs {
		if isIdentity(c.Path) && c.Kind != ChangeRemoved {
			out = append(out, c)
		}
	}
	return out
}

func joinChanges(cs []Change) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ", ")
}
