package integrity

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func newDataDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	writeFile(t, filepath.Join(d, DatabaseFile), []byte("SQLite format 3\x00 rows"))
	writeFile(t, filepath.Join(d, IdentitiesDir, "primary"), bytes.Repeat([]byte{7}, 64))
	writeFile(t, filepath.Join(d, IdentitiesDir, "propnode"), bytes.Repeat([]byte{9}, 64))
	return d
}

func atOpts(mode Mode, logBuf *bytes.Buffer) AtRestOptions {
	c := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	o := AtRestOptions{Mode: mode, Now: c.now}
	if logBuf != nil {
		o.Logger = slog.New(slog.NewTextHandler(logBuf, nil))
	}
	return o
}

func readState(t *testing.T, dir string) *state {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseState(b)
	if err != nil {
		t.Fatalf("state: %v\n%s", err, b)
	}
	return s
}

// cleanRun opens the data dir and shuts down cleanly, as one uneventful run of Reticle.
func cleanRun(t *testing.T, dir string, o AtRestOptions) AtRestReport {
	t.Helper()
	a, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	checkpointed := false
	if err := a.RecordCleanShutdown(func() error { checkpointed = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if !checkpointed {
		t.Fatal("checkpoint hook not called")
	}
	return a.Report()
}

func TestAtRestFirstRunThenUnchanged(t *testing.T) {
	dir := newDataDir(t)
	o := atOpts(ModeEnforce, nil)
	a, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	// Identity files without integrity.json are not a first run: CheckRecord decides.
	if r := a.Report(); r.Status != AtRestUnknown {
		t.Fatalf("first open: %+v", r)
	}
	if s := readState(t, dir); s.State != runStateRunning {
		t.Fatalf("state after Open: %q", s.State)
	}
	if err := a.RecordCleanShutdown(nil); err != nil {
		t.Fatal(err)
	}
	s := readState(t, dir)
	if s.State != runStateClean || len(s.Files) != 3 || s.Files["identities/primary"].Size != 64 {
		t.Fatalf("state after shutdown: %+v", s)
	}
	if fi, _ := os.Stat(filepath.Join(dir, StateFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("integrity.json mode %v", fi.Mode())
	}
	r := cleanRun(t, dir, o)
	if r.Status != AtRestOK || len(r.Changes) != 0 || r.LastCleanShutdown.IsZero() {
		t.Fatalf("second run: %+v", r)
	}
}

func TestAtRestChangedWarns(t *testing.T) {
	dir := newDataDir(t)
	cleanRun(t, dir, atOpts(ModeWarn, nil))
	flipByte(t, filepath.Join(dir, IdentitiesDir, "primary"), 3)
	flipByte(t, filepath.Join(dir, DatabaseFile), 0)
	writeFile(t, filepath.Join(dir, IdentitiesDir, "injected"), []byte("key"))
	_ = os.Remove(filepath.Join(dir, IdentitiesDir, "propnode"))
	var logs bytes.Buffer
	a, err := Open(dir, atOpts(ModeWarn, &logs))
	if err != nil {
		t.Fatalf("warn mode must not refuse: %v", err)
	}
	r := a.Report()
	if r.Status != AtRestChanged {
		t.Fatalf("status %q", r.Status)
	}
	want := "identities/injected (added), identities/primary (modified), identities/propnode (removed), reticle.db (modified)"
	if joinChanges(r.Changes) != want {
		t.Fatalf("changes %q", joinChanges(r.Changes))
	}
	if !strings.Contains(r.Message, "changed while reticle was not running: ") || !strings.Contains(logs.String(), "level=WARN") ||
		!strings.Contains(logs.String(), "identities/primary (modified)") {
		t.Fatalf("message %q, logs %q", r.Message, logs.String())
	}
	// Warned once: after this run shuts down cleanly the new files are the baseline.
	if err := a.RecordCleanShutdown(nil); err != nil {
		t.Fatal(err)
	}
	if r := cleanRun(t, dir, atOpts(ModeWarn, nil)); r.Status != AtRestOK {
		t.Fatalf("after a clean run: %+v", r)
	}
}

func TestAtRestChangedIdentityRefusedInEnforceUntilAcknowledged(t *testing.T) {
	dir := newDataDir(t)
	cleanRun(t, dir, atOpts(ModeEnforce, nil))
	before, _ := os.ReadFile(filepath.Join(dir, StateFile))
	flipByte(t, filepath.Join(dir, IdentitiesDir, "primary"), 0)
	_, err := Open(dir, atOpts(ModeEnforce, nil))
	if !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("want ErrAtRestChanged, got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "identities/primary (modified)") || !strings.Contains(msg, "reticle verify --ack-at-rest --data-dir "+dir) || strings.Contains(msg, "\n") {
		t.Fatalf("message %q", msg)
	}
	after, _ := os.ReadFile(filepath.Join(dir, StateFile))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused Open must not touch integrity.json")
	}
	// Still refused on the next attempt.
	if _, err := Open(dir, atOpts(ModeEnforce, nil)); !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("second attempt: %v", err)
	}
	rep, err := Acknowledge(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 || rep.Changes[0].Path != "identities/primary" || !strings.Contains(rep.Message, "accepted changes: identities/primary (modified)") {
		t.Fatalf("ack report %+v", rep)
	}
	s := readState(t, dir)
	if len(s.Acknowledged) != 1 || s.Acknowledged[0].Changes[0] != "identities/primary (modified)" {
		t.Fatalf("ack not recorded: %+v", s.Acknowledged)
	}
	a, err := Open(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatalf("after ack: %v", err)
	}
	if a.Report().Status != AtRestOK {
		t.Fatalf("after ack: %+v", a.Report())
	}
	if err := a.RecordCleanShutdown(nil); err != nil {
		t.Fatal(err)
	}
	if s := readState(t, dir); len(s.Acknowledged) != 1 {
		t.Fatalf("clean shutdown dropped the acknowledgement: %+v", s)
	}
}

func TestAtRestEnforceOnlyWarnsForDatabaseAndRemovals(t *testing.T) {
	dir := newDataDir(t)
	cleanRun(t, dir, atOpts(ModeEnforce, nil))
	flipByte(t, filepath.Join(dir, DatabaseFile), 0)
	_ = os.Remove(filepath.Join(dir, IdentitiesDir, "propnode"))
	a, err := Open(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatalf("database change and removal must only warn: %v", err)
	}
	if r := a.Report(); r.Status != AtRestChanged || len(r.Changes) != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestAtRestSymlinkSwapIsAChange(t *testing.T) {
	dir := newDataDir(t)
	cleanRun(t, dir, atOpts(ModeEnforce, nil))
	p := filepath.Join(dir, IdentitiesDir, "primary")
	b, _ := os.ReadFile(p)
	other := filepath.Join(t.TempDir(), "k")
	writeFile(t, other, b) // same bytes, reached through a symlink
	_ = os.Remove(p)
	if err := os.Symlink(other, p); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, atOpts(ModeEnforce, nil)); !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("symlink swap not detected: %v", err)
	}
}

func TestAtRestUncleanIsNotTampering(t *testing.T) {
	dir := newDataDir(t)
	cleanRun(t, dir, atOpts(ModeEnforce, nil))
	a, err := Open(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatal(err)
	}
	_ = a // crash: no RecordCleanShutdown; the run changed files, as a real run does
	flipByte(t, filepath.Join(dir, DatabaseFile), 0)
	writeFile(t, filepath.Join(dir, IdentitiesDir, "new"), []byte("created during the run"))
	var logs bytes.Buffer
	a, err = Open(dir, atOpts(ModeEnforce, &logs))
	if err != nil {
		t.Fatalf("unclean must not refuse: %v", err)
	}
	r := a.Report()
	if r.Status != AtRestUnclean || len(r.Changes) != 0 || !strings.Contains(r.Message, "did not shut down cleanly") {
		t.Fatalf("%+v", r)
	}
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("unclean shutdown logged as a warning: %s", logs.String())
	}
	if err := a.RecordCleanShutdown(nil); err != nil {
		t.Fatal(err)
	}
	if r := cleanRun(t, dir, atOpts(ModeEnforce, nil)); r.Status != AtRestOK {
		t.Fatalf("after recovery: %+v", r)
	}
}

func TestAtRestCheckpointFailureLeavesUnclean(t *testing.T) {
	dir := newDataDir(t)
	a, err := Open(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	if err := a.RecordCleanShutdown(func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	a, err = Open(dir, atOpts(ModeEnforce, nil))
	if err != nil || a.Report().Status != AtRestUnclean {
		t.Fatalf("err=%v report=%+v", err, a.Report())
	}
}

func TestAtRestCorruptState(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":       "\x00\xffnot json",
		"truncated":     `{"version":1,"state":"cle`,
		"wrong version": `{"version":9,"state":"clean","files":{}}`,
		"bad state":     `{"version":1,"state":"sleeping","files":{}}`,
		"bad path":      `{"version":1,"state":"clean","files":{"../etc/passwd":{"sha256":"x","size":1}}}`,
		"empty":         ``,
	} {
		t.Run(name, func(t *testing.T) {
			dir := newDataDir(t)
			writeFile(t, filepath.Join(dir, StateFile), []byte(content))
			a, err := Open(dir, atOpts(ModeEnforce, nil))
			if err != nil {
				t.Fatalf("corrupt state must not be fatal: %v", err)
			}
			r := a.Report()
			if r.Status != AtRestUnknown || !strings.Contains(r.Message, "integrity.json unreadable") {
				t.Fatalf("%+v", r)
			}
			if kept, _ := os.ReadFile(filepath.Join(dir, StateFile+".corrupt")); string(kept) != content {
				t.Fatal("corrupt file not kept for inspection")
			}
			if s := readState(t, dir); s.State != runStateRunning {
				t.Fatalf("state not replaced: %+v", s)
			}
			if err := a.RecordCleanShutdown(nil); err != nil {
				t.Fatal(err)
			}
			if r := cleanRun(t, dir, atOpts(ModeEnforce, nil)); r.Status != AtRestOK {
				t.Fatalf("after recovery: %+v", r)
			}
		})
	}
}

func TestAtRestOffAndBadInput(t *testing.T) {
	dir := newDataDir(t)
	a, err := Open(dir, atOpts(ModeOff, nil))
	if err != nil || a.Report().Status != AtRestSkipped {
		t.Fatalf("off: %v %+v", err, a.Report())
	}
	if err := a.RecordCleanShutdown(func() error { return errors.New("must not run") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); !os.IsNotExist(err) {
		t.Fatal("off mode wrote state")
	}
	if _, err := Open(filepath.Join(dir, "nope"), atOpts(ModeWarn, nil)); err == nil {
		t.Fatal("missing data dir accepted")
	}
	if _, err := Open(dir, AtRestOptions{Mode: "loud"}); !errors.Is(err, ErrInvalidMode) {
		t.Fatalf("bad mode: %v", err)
	}
}

func TestAtRestNoIdentitiesYet(t *testing.T) {
	dir := t.TempDir()
	r := cleanRun(t, dir, atOpts(ModeEnforce, nil))
	if r.Status != AtRestFirstRun {
		t.Fatalf("%+v", r)
	}
	if s := readState(t, dir); len(s.Files) != 0 {
		t.Fatalf("files %+v", s.Files)
	}
	writeFile(t, filepath.Join(dir, IdentitiesDir, "primary"), []byte("k"))
	if _, err := Open(dir, atOpts(ModeEnforce, nil)); !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("identity added while stopped: %v", err)
	}
}

func FuzzParseState(f *testing.F) {
	s := state{Version: 1, State: runStateClean, Files: map[string]fileHash{"reticle.db": {SHA256: "ab", Size: 2}}}
	b, _ := json.Marshal(s)
	f.Add(b)
	f.Add([]byte(`{"version":1,"state":"running","files":{}}`))
	f.Add([]byte(`{"version":1,"state":"clean","files":{"/abs":{}}}`))
	f.Add([]byte(`nul`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseState(b)
		if err != nil {
			return
		}
		if s.State != runStateClean && s.State != runStateRunning {
			t.Fatalf("accepted state %q", s.State)
		}
		for p := range s.Files {
			if checkPath(p) != nil {
				t.Fatalf("accepted path %q", p)
			}
		}
	})
}

func TestInspectIsReadOnly(t *testing.T) {
	dir := newDataDir(t)
	if r, err := Inspect(dir, atOpts(ModeEnforce, nil)); err != nil || r.Status != AtRestUnknown {
		t.Fatalf("first run: %v %+v", err, r)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); !os.IsNotExist(err) {
		t.Fatal("Inspect wrote state")
	}
	cleanRun(t, dir, atOpts(ModeEnforce, nil))
	flipByte(t, filepath.Join(dir, IdentitiesDir, "primary"), 0)
	before := mustReadFile(t, filepath.Join(dir, StateFile))
	r, err := Inspect(dir, atOpts(ModeEnforce, nil))
	if !errors.Is(err, ErrAtRestChanged) || r.Status != AtRestChanged || len(r.Changes) != 1 {
		t.Fatalf("enforce: %v %+v", err, r)
	}
	if r, err := Inspect(dir, atOpts(ModeWarn, nil)); err != nil || r.Status != AtRestChanged {
		t.Fatalf("warn: %v %+v", err, r)
	}
	if !bytes.Equal(before, mustReadFile(t, filepath.Join(dir, StateFile))) {
		t.Fatal("Inspect changed integrity.json")
	}
	writeFile(t, filepath.Join(dir, StateFile), []byte("junk"))
	if r, err := Inspect(dir, atOpts(ModeWarn, nil)); err != nil || r.Status != AtRestUnknown {
		t.Fatalf("corrupt: %v %+v", err, r)
	}
	if string(mustReadFile(t, filepath.Join(dir, StateFile))) != "junk" {
		t.Fatal("Inspect moved the corrupt state")
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
