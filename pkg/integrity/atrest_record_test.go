package integrity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memRecords is a RecordStore in memory, standing in for the database.
type memRecords struct{ b []byte }

func (m *memRecords) LoadAtRestRecord(context.Context) ([]byte, error) { return m.b, nil }
func (m *memRecords) SaveAtRestRecord(_ context.Context, b []byte) error {
	m.b = append([]byte(nil), b...)
	return nil
}

// run is one start of Reticle as cmd/reticle wires it: Open, CheckRecord, create identities if
// missing, Seal; then a clean stop (SealAccepting, RecordCleanShutdown) unless killed.
func run(t *testing.T, dir string, rs RecordStore, mode Mode, killed bool) (AtRestReport, error) {
	t.Helper()
	ctx := context.Background()
	a, err := Open(dir, atOpts(mode, nil))
	if err != nil {
		return AtRestReport{}, err
	}
	if err := a.CheckRecord(ctx, rs); err != nil {
		return a.Report(), err
	}
	for _, n := range []string{"transport", "lxmf"} {
		p := filepath.Join(dir, IdentitiesDir, n)
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			writeFile(t, p, bytes.Repeat([]byte(n[:1]), 64))
		}
	}
	if err := a.Seal(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if !killed {
		if err := a.SealAccepting(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if err := a.RecordCleanShutdown(nil); err != nil {
			t.Fatal(err)
		}
	}
	return a.Report(), nil
}

func swapIdentity(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, IdentitiesDir, "lxmf"), bytes.Repeat([]byte{0xee}, 64))
}

func setStateField(t *testing.T, dir, state string) {
	t.Helper()
	p := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["state"] = state
	b, _ = json.Marshal(m)
	writeFile(t, p, b)
}

func TestAtRestRecordStates(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string) // after one clean run (and a killed one when killed)
		killed  bool                           // the run before prepare was killed (no clean shutdown)
		status  AtRestStatus                   // the report after the next start
		refuse  error                          // what enforce refuses with; nil means it starts
	}{
		{name: "clean", status: AtRestOK},
		{name: "unclean, identities intact", killed: true, status: AtRestUnclean},
		{name: "state file deleted, identities intact", prepare: func(t *testing.T, d string) { rm(t, d, StateFile) }, status: AtRestUnknown},
		{name: "swap then delete state file", prepare: func(t *testing.T, d string) { swapIdentity(t, d); rm(t, d, StateFile) },
			status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "swap then edit state to running", prepare: func(t *testing.T, d string) { swapIdentity(t, d); setStateField(t, d, "running") },
			status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "swap then garbage state file", prepare: func(t *testing.T, d string) {
			swapIdentity(t, d)
			writeFile(t, filepath.Join(d, StateFile), []byte("{not json"))
		}, status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "kill -9 then swap", killed: true, prepare: swapIdentity, status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "swap with a clean state file rewritten to match", prepare: func(t *testing.T, d string) {
			swapIdentity(t, d)
			if _, err := Acknowledge(d, atOpts(ModeWarn, nil)); err != nil { // forges a matching integrity.json
				t.Fatal(err)
			}
		}, status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "symlinked identity", prepare: func(t *testing.T, d string) {
			p := filepath.Join(d, IdentitiesDir, "lxmf")
			rm(t, d, IdentitiesDir+"/lxmf")
			if err := os.Symlink(filepath.Join(d, "elsewhere"), p); err != nil {
				t.Fatal(err)
			}
			rm(t, d, StateFile)
		}, status: AtRestTampered, refuse: ErrAtRestChanged},
		{name: "record unreadable", prepare: nil, status: AtRestTampered, refuse: ErrAtRestChanged},
	}
	for _, c := range cases {
		for _, mode := range []Mode{ModeEnforce, ModeWarn} {
			t.Run(c.name+" "+string(mode), func(t *testing.T) {
				dir := t.TempDir()
				rs := &memRecords{}
				if r, err := run(t, dir, rs, mode, false); err != nil || r.Status != AtRestFirstRun {
					t.Fatalf("first run: %v %+v", err, r)
				}
				if c.killed {
					if _, err := run(t, dir, rs, mode, true); err != nil {
						t.Fatal(err)
					}
				}
				if c.prepare != nil {
					c.prepare(t, dir)
				}
				if c.name == "record unreadable" {
					rs.b = []byte("garbage")
				}
				r, err := run(t, dir, rs, mode, true)
				if r.Status != c.status {
					t.Fatalf("status %q (%s), want %q", r.Status, r.Message, c.status)
				}
				switch {
				case mode == ModeEnforce && c.refuse != nil:
					if !errors.Is(err, c.refuse) || !strings.Contains(err.Error(), "reticle verify --ack-at-rest --data-dir "+dir) {
						t.Fatalf("enforce: err %v, want %v with the ack hint", err, c.refuse)
					}
				case err != nil:
					t.Fatalf("%s must start: %v", mode, err)
				}
			})
		}
	}
}

func TestAtRestRecordMissing(t *testing.T) {
	dir := t.TempDir()
	swapIdentity(t, dir) // identities exist, no integrity.json, no record anywhere
	for _, mode := range []Mode{ModeEnforce, ModeWarn} {
		r, err := run(t, dir, &memRecords{}, mode, true)
		if r.Status != AtRestNoRecord {
			t.Fatalf("%s: status %q (%s)", mode, r.Status, r.Message)
		}
		if mode == ModeEnforce && (!errors.Is(err, ErrAtRestNoRecord) || !strings.Contains(err.Error(), "--ack-at-rest")) {
			t.Fatalf("enforce: %v", err)
		}
		if mode == ModeWarn && err != nil {
			t.Fatalf("warn: %v", err)
		}
		rm(t, dir, StateFile)
	}
}

func TestAtRestRecordUpgradeFromCleanState(t *testing.T) {
	// An instance from before the record: a clean integrity.json vouches for the identities once.
	dir := t.TempDir()
	swapIdentity(t, dir)
	if _, err := Acknowledge(dir, atOpts(ModeEnforce, nil)); err != nil {
		t.Fatal(err)
	}
	rs := &memRecords{}
	if r, err := run(t, dir, rs, ModeEnforce, false); err != nil || r.Status != AtRestOK {
		t.Fatalf("upgrade: %v %+v", err, r)
	}
	if rs.b == nil {
		t.Fatal("upgrade did not write the record")
	}
	// From now on the record alone catches a swap behind a deleted integrity.json.
	writeFile(t, filepath.Join(dir, IdentitiesDir, "lxmf"), bytes.Repeat([]byte{0x11}, 64))
	rm(t, dir, StateFile)
	if _, err := run(t, dir, rs, ModeEnforce, true); !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("swap after upgrade: %v", err)
	}
}

func TestAtRestWarnKeepsReportingUntilCleanStop(t *testing.T) {
	dir := t.TempDir()
	rs := &memRecords{}
	if _, err := run(t, dir, rs, ModeWarn, false); err != nil {
		t.Fatal(err)
	}
	swapIdentity(t, dir)
	rm(t, dir, StateFile)
	for i := range 2 { // killed runs: still tampered each time
		if r, _ := run(t, dir, rs, ModeWarn, true); r.Status != AtRestTampered {
			t.Fatalf("killed run %d: %+v", i, r)
		}
	}
	if _, err := run(t, dir, rs, ModeWarn, false); err != nil { // a clean stop accepts it
		t.Fatal(err)
	}
	if r, err := run(t, dir, rs, ModeEnforce, false); err != nil || r.Status != AtRestOK {
		t.Fatalf("after a clean warn run: %v %+v", err, r)
	}
}

func TestSealRecordAcknowledges(t *testing.T) {
	dir := t.TempDir()
	rs := &memRecords{}
	if _, err := run(t, dir, rs, ModeEnforce, false); err != nil {
		t.Fatal(err)
	}
	swapIdentity(t, dir)
	rm(t, dir, StateFile)
	if _, err := run(t, dir, rs, ModeEnforce, true); !errors.Is(err, ErrAtRestChanged) {
		t.Fatalf("before ack: %v", err)
	}
	if _, err := Acknowledge(dir, atOpts(ModeEnforce, nil)); err != nil {
		t.Fatal(err)
	}
	if err := SealRecord(context.Background(), dir, rs); err != nil {
		t.Fatal(err)
	}
	if r, err := run(t, dir, rs, ModeEnforce, false); err != nil || r.Status != AtRestOK {
		t.Fatalf("after ack: %v %+v", err, r)
	}
}

func TestRecordEntryBindsKeyAndPath(t *testing.T) {
	k := bytes.Repeat([]byte{1}, 64)
	e, err := entryFor("identities/lxmf", k)
	if err != nil {
		t.Fatal(err)
	}
	if !e.matches("identities/lxmf", k) {
		t.Fatal("own entry does not match")
	}
	if e.matches("identities/transport", k) {
		t.Fatal("entry matches another path")
	}
	other := bytes.Repeat([]byte{2}, 64)
	forged := e
	forged.SHA256 = mustEntry(t, "identities/lxmf", other).SHA256 // right hash, MAC from the old key
	if forged.matches("identities/lxmf", other) {
		t.Fatal("entry with a swapped hash but the old MAC matches")
	}
}

func mustEntry(t *testing.T, p string, b []byte) recordEntry {
	t.Helper()
	e, err := entryFor(p, b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rm(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
}

func TestAtRestSymlinkedStateFileNotFollowed(t *testing.T) {
	dir := t.TempDir()
	rs := &memRecords{}
	if _, err := run(t, dir, rs, ModeEnforce, false); err != nil {
		t.Fatal(err)
	}
	// A clean-looking state file elsewhere, linked in place of integrity.json.
	elsewhere := filepath.Join(t.TempDir(), "integrity.json")
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, elsewhere, b)
	rm(t, dir, StateFile)
	if err := os.Symlink(elsewhere, filepath.Join(dir, StateFile)); err != nil {
		t.Fatal(err)
	}
	a, err := Open(dir, atOpts(ModeEnforce, nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Report(); r.Status != AtRestUnknown || !strings.Contains(r.Message, "not a regular file") {
		t.Fatalf("symlinked state: %+v", a.Report())
	}
	if st, err := os.Lstat(filepath.Join(dir, StateFile)); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("state file not replaced by a regular file: %v", err)
	}
	if got, _ := os.ReadFile(elsewhere); !bytes.Equal(got, b) {
		t.Fatal("the symlink target was written through")
	}
}
