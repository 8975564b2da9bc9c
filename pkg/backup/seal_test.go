package backup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

const testPassphrase = "correct horse battery staple"

// sealedSnapshot returns a plain snapshot of a seeded data dir and its sealed copy.
func sealedSnapshot(t *testing.T) (s seeded, plain, sealed string) {
	t.Helper()
	s = seed(t, 12)
	dir := t.TempDir()
	plain = filepath.Join(dir, "b.zip")
	if _, err := Create(context.Background(), s.st, s.dir, plain, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sealed = filepath.Join(dir, "b.zip.age")
	if err := SealFile(plain, sealed, testPassphrase); err != nil {
		t.Fatal(err)
	}
	return s, plain, sealed
}

// TestSealedRoundTrip seals a snapshot, opens it with the passphrase and restores it: every file and
// row matches. The sealed file reveals nothing of the zip (no member names in clear).
func TestSealedRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, plain, sealed := sealedSnapshot(t)
	raw, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, sealedMagic) || bytes.Contains(raw, []byte("manifest.json")) || bytes.Contains(raw, []byte("identities/")) {
		t.Fatal("sealed archive is not an age file or shows member names")
	}
	if ok, err := IsSealedFile(sealed); !ok || err != nil {
		t.Fatalf("IsSealedFile(sealed) = %v, %v", ok, err)
	}
	if ok, err := IsSealedFile(plain); ok || err != nil {
		t.Fatalf("IsSealedFile(plain) = %v, %v", ok, err)
	}
	// A sealed archive is refused by Verify until it is opened.
	if _, err := Verify(sealed, Limits{}); !errors.Is(err, ErrSealed) || !IsInvalid(err) {
		t.Fatalf("verify sealed: %v, want ErrSealed", err)
	}
	opened, err := UnsealFile(sealed, t.TempDir(), testPassphrase, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(plain)
	if got, _ := os.ReadFile(opened); !bytes.Equal(got, want) {
		t.Fatal("unsealed archive differs from the plain one")
	}
	dst := t.TempDir()
	if _, _, err := Restore(ctx, opened, dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tree(t, dst), tree(t, s.dir)) || !reflect.DeepEqual(digest(t, dst), digest(t, s.dir)) {
		t.Fatal("restore of the sealed snapshot differs from the data")
	}
}

// TestSealedRefusals: a wrong passphrase is ErrWrongKey; a truncated, altered, over-costly or
// oversized sealed archive is ErrInvalid; none of them leaves a file behind.
func TestSealedRefusals(t *testing.T) {
	_, _, sealed := sealedSnapshot(t)
	raw, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	open := func(t *testing.T, b []byte, pass string, limits Limits) error {
		t.Helper()
		p := filepath.Join(t.TempDir(), "x.age")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := UnsealFile(p, work, pass, limits)
		if err == nil {
			_ = os.Remove(got)
		}
		if left, _ := os.ReadDir(work); len(left) > 0 {
			t.Fatalf("left %d files behind", len(left))
		}
		return err
	}
	if err := open(t, raw, "not the passphrase at all", Limits{}); !errors.Is(err, ErrWrongKey) || !IsInvalid(err) {
		t.Fatalf("wrong passphrase: %v, want ErrWrongKey", err)
	}
	if err := open(t, raw, "", Limits{}); !errors.Is(err, ErrSealed) {
		t.Fatalf("no passphrase: %v, want ErrSealed", err)
	}
	for _, n := range []int{10, len(sealedMagic) + 5, 120, len(raw) / 2, len(raw) - 17, len(raw) - 1} {
		err := open(t, raw[:n], testPassphrase, Limits{})
		if !IsInvalid(err) || errors.Is(err, ErrWrongKey) {
			t.Errorf("cut at %d of %d: %v, want ErrInvalid (not a wrong key)", n, len(raw), err)
		}
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-100] ^= 0x40
	if err := open(t, flipped, testPassphrase, Limits{}); !IsInvalid(err) || errors.Is(err, ErrWrongKey) {
		t.Errorf("flipped payload byte: %v, want ErrInvalid", err)
	}
	// A header asking for a scrypt cost of 2^22 (4 GiB) is refused before any work is done.
	costly := regexp.MustCompile(`(-> scrypt \S+) 15\n`).ReplaceAll(raw, []byte("$1 22\n"))
	if bytes.Equal(costly, raw) {
		t.Fatal("test setup: no scrypt stanza with work factor 15 found")
	}
	if err := open(t, costly, testPassphrase, Limits{}); !IsInvalid(err) || errors.Is(err, ErrWrongKey) {
		t.Errorf("work factor 22: %v, want ErrInvalid", err)
	}
	if err := open(t, raw, testPassphrase, Limits{MaxArchive: 1000}); !IsInvalid(err) {
		t.Errorf("over the size limit: %v, want ErrInvalid", err)
	}
	if err := SealFile(sealed, filepath.Join(work, "short.age"), "short"); !errors.Is(err, ErrBadPassphrase) {
		t.Errorf("short passphrase: %v, want ErrBadPassphrase", err)
	}
	if left, _ := os.ReadDir(work); len(left) > 0 {
		t.Fatalf("a refused seal left %d files", len(left))
	}
}

// TestStageSealedUpload stages a sealed upload through the manager: refused without or with the
// wrong passphrase (nothing pending), staged with the right one.
func TestStageSealedUpload(t *testing.T) {
	ctx := context.Background()
	s, _, sealed := sealedSnapshot(t)
	m, err := New(Options{DataDir: s.dir}, s.st)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for pass, want := range map[string]error{"": ErrSealed, "a wrong passphrase here": ErrWrongKey} {
		if _, err := m.StageRestore(ctx, bytes.NewReader(raw), pass); !errors.Is(err, want) {
			t.Fatalf("passphrase %q: %v, want %v", pass, err, want)
		}
		if _, ok := m.Pending(); ok {
			t.Fatal("a refused sealed upload left a pending restore")
		}
	}
	man, err := m.StageRestore(ctx, bytes.NewReader(raw), testPassphrase)
	if err != nil || man.Messages != 12 {
		t.Fatalf("staged %+v, %v", man, err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dir, ".unsealed-*")); len(left) > 0 {
		t.Fatalf("unsealed temp files left: %v", left)
	}
	// The manager seals its own snapshots for download.
	in, err := m.Create(ctx, "manual")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Seal(ctx, in.Name, "short", &buf); !errors.Is(err, ErrBadPassphrase) || buf.Len() != 0 {
		t.Fatalf("seal with a short passphrase: %v (%d bytes written)", err, buf.Len())
	}
	if err := m.Seal(ctx, "../reticle.db", testPassphrase, &buf); !errors.Is(err, ErrUnsafeName) || buf.Len() != 0 {
		t.Fatalf("seal of a hostile name: %v", err)
	}
	if err := m.Seal(ctx, in.Name, testPassphrase, &buf); err != nil || !bytes.HasPrefix(buf.Bytes(), sealedMagic) {
		t.Fatalf("seal: %v", err)
	}
}
