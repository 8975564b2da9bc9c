package integrity

import (
	"context"
	"fmt"
)

// CheckRecord compares the identity key files (directly under identities/) with the second record
// that rs keeps, after [Open] and once the store is open. It runs whatever integrity.json said, so a
// deleted, garbled or "running" integrity.json cannot hide a swapped key:
//
//   - no identity files and no record: first run, nothing to check;
//   - every file matches its entry: fine (a clean run, or an unclean one whose identities are intact);
//   - a file differs from its entry, is not a regular file, or the record is unreadable: tampered;
//   - identity files but no entry for them: accepted (and recorded) only when integrity.json was clean
//     and vouched for them, which is how an instance that predates the record upgrades; otherwise the
//     record is missing;
//   - an entry whose file is gone: reported, not refused (a new identity is created and recorded).
//
// In enforce mode tampered and missing refuse with [ErrAtRestChanged] or [ErrAtRestNoRecord] and the
// `reticle verify --ack-at-rest` hint; in warn mode they are logged and shown in the report.
func (a *AtRest) CheckRecord(ctx context.Context, rs RecordStore) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mode == ModeOff {
		return nil
	}
	a.checked = true
	rec, unreadable, err := loadRecord(ctx, rs)
	if err != nil {
		return err
	}
	files, err := readIdentityFiles(a.dir)
	if err != nil {
		return fmt.Errorf("at-rest check: %w", err)
	}
	a.record = rec
	rc := compareRecord(rec, files)
	jsonVouches := a.report.Status == AtRestOK ||
		(a.report.Status == AtRestChanged && len(refusedChanges(a.report.Changes)) == 0)
	a.keep = map[string]bool{}
	var (
		status AtRestStatus
		bad    []Change
		msg    string
	)
	switch {
	case unreadable != "":
		status, msg = AtRestTampered, "database at-rest record unreadable ("+unreadable+")"
		bad = rc.modified
		for p := range files {
			a.keep[p] = true
		}
	case len(rc.modified) > 0:
		status, bad = AtRestTampered, rc.modified
		msg = "identity files differ from the database record: " + joinChanges(rc.modified)
	case len(rc.unrecorded) > 0 && !jsonVouches:
		status, bad = AtRestNoRecord, rc.unrecorded
		msg = "no at-rest record vouches for " + joinChanges(rc.unrecorded) + " (" + StateFile + " " + string(a.report.Status) + ")"
	}
	for _, c := range bad {
		a.keep[c.Path] = true
	}
	if status == "" {
		if rc.matched > 0 || len(rc.unrecorded) > 0 {
			a.report.Message += fmt.Sprintf("; identities checked against the database record (%d match", rc.matched)
			if len(rc.unrecorded) > 0 {
				a.report.Message += fmt.Sprintf(", %d newly recorded", len(rc.unrecorded))
			}
			a.report.Message += ")"
		}
		if len(rc.removed) > 0 {
			a.log.Warn("recorded identity files are gone", "changes", joinChanges(rc.removed))
			a.report.Message += "; gone: " + joinChanges(rc.removed)
		}
		return nil
	}
	a.report.Status, a.report.Message = status, msg
	a.report.Changes = append(append([]Change(nil), bad...), rc.removed...)
	if a.mode == ModeEnforce {
		a.log.Error("at-rest check failed", "status", string(status), "changes", joinChanges(bad))
		sentinel := ErrAtRestChanged
		if status == AtRestNoRecord {
			sentinel = ErrAtRestNoRecord
		}
		return fmt.Errorf("%w: %s; if this was you, run `reticle verify --ack-at-rest --data-dir %s`", sentinel, msg, a.dir)
	}
	a.log.Warn("at-rest check failed", "status", string(status), "changes", joinChanges(bad))
	return nil
}

// Seal records the identity files in the second record: files added since the check (a first run
// creates them after CheckRecord) are vouched for; files that failed the check in warn mode keep their
// old entry, so they are reported again until a clean shutdown or an acknowledgement accepts them. Call
// it once the identities exist, after [AtRest.CheckRecord] passed.
func (a *AtRest) Seal(ctx context.Context, rs RecordStore) error {
	return a.seal(ctx, rs, false)
}

// SealAccepting is Seal at a clean shutdown: the current identity files are recorded as they are,
// including those warn mode let through. Call it before the store closes.
func (a *AtRest) SealAccepting(ctx context.Context, rs RecordStore) error {
	return a.seal(ctx, rs, true)
}

func (a *AtRest) seal(ctx context.Context, rs RecordStore, accept bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mode == ModeOff || !a.checked {
		return nil
	}
	files, err := readIdentityFiles(a.dir)
	if err != nil {
		return fmt.Errorf("seal at-rest record: %w", err)
	}
	keep := a.keep
	if accept {
		keep = nil
	}
	r, err := buildRecord(files, a.record, keep)
	if err != nil {
		return fmt.Errorf("seal at-rest record: %w", err)
	}
	if err := saveRecord(ctx, rs, r); err != nil {
		return err
	}
	a.record = r
	if accept {
		a.keep = nil
	}
	return nil
}
