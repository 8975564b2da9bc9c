package backup

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var hex64 = strings.Repeat("ab", 32)

// hostileNames are member names a restore must refuse, whatever the manifest says.
var hostileNames = []string{
	"../evil",
	"../../../../tmp/evil",
	"/etc/passwd",
	"/tmp/evil",
	"identities/../../evil",
	"attachments/../../../evil",
	"rns/../reticle.db",
	"identities/ratchets/../../../../evil",
	`..\evil`,
	`identities\lxmf`,
	`C:\evil`,
	"C:/evil",
	"attachments/%2e%2e%2fevil",
	"identities/%2e%2e",
	"%2e%2e/evil",
	"identities/lxmf/../../../evil",
	"identities/ｌxmf",         // fullwidth l
	"identities/lx\u200bmf",   // zero-width space
	"identities/\u202elxmf",   // right-to-left override
	"identities/lxmf\x00.txt", // NUL
	"reticle.db/x",
	"./reticle.db",
	"identities//lxmf",
	"identities/./lxmf",
	"identities/.hidden",
	"identities/ratchets",
	"attachments/" + strings.ToUpper(hex64),
	"attachments/" + hex64[:63],
	"attachments/" + hex64 + "/x",
	"reticle.db\r",
	"snapshots/reticle-20260101-000000-000-manual.zip",
	"integrity.json",
	"reticle.lock",
	"rns/other",
	"plugins/evil.wasm",
	"",
}

// TestHostileMemberNamesRefused stages archives whose only fault is one hostile member name (listed in
// the manifest with a correct hash): each is refused with ErrUnsafeName and nothing is written inside
// or outside the data dir.
func TestHostileMemberNamesRefused(t *testing.T) {
	ctx := context.Background()
	if len(hostileNames) < 20 {
		t.Fatal("the table must keep at least 20 hostile names")
	}
	outer := t.TempDir()
	dataDir := filepath.Join(outer, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dataDir, "identities/lxmf", []byte("original key"))
	before := listAll(t, outer)
	for _, name := range hostileNames {
		t.Run(strings.ToValidUTF8(name, "?"), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "hostile.zip")
			buildZip(t, p, []member{{name: DatabaseFile, data: []byte("db")}, {name: name, data: []byte("evil")}}, nil)
			_, _, err := Restore(ctx, p, dataDir, RestoreOptions{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("restore = %v, want ErrInvalid", err)
			}
			if _, err := Verify(p, Limits{}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("verify = %v, want ErrInvalid", err)
			}
			if !errors.Is(err, ErrUnsafeName) {
				t.Errorf("refused for another reason than the name: %v", err)
			}
			if got := listAll(t, outer); !reflect.DeepEqual(got, before) {
				t.Fatalf("a refused restore wrote files: %v", got)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, "identities", "lxmf")); string(b) != "original key" { //nolint:gosec // test
		t.Fatal("identity changed")
	}
}

// TestHostileArchivesRefused covers what names alone do not: links, devices, directories, duplicates,
// unlisted or missing members, wrong hashes and sizes, and the size and count caps (zip bombs).
func TestHostileArchivesRefused(t *testing.T) {
	db := member{name: DatabaseFile, data: []byte("db")}
	cases := []struct {
		name    string
		members []member
		fix     func(*Manifest)
		limits  Limits
	}{
		{"symlink", []member{db, {name: "identities/lxmf", data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}}, nil, Limits{}},
		{"device", []member{db, {name: "identities/lxmf", mode: fs.ModeDevice | 0o600}}, nil, Limits{}},
		{"char device", []member{db, {name: "identities/lxmf", mode: fs.ModeDevice | fs.ModeCharDevice | 0o600}}, nil, Limits{}},
		{"named pipe", []member{db, {name: "identities/lxmf", mode: fs.ModeNamedPipe | 0o600}}, nil, Limits{}},
		{"directory", []member{db, {name: "identities/lxmf/", mode: fs.ModeDir | 0o700}}, nil, Limits{}},
		{"duplicate", []member{db, {name: "identities/lxmf", data: []byte("a")}, {name: "identities/lxmf", data: []byte("b"), unlist: true}}, nil, Limits{}},
		{"unlisted member", []member{db, {name: "identities/lxmf", data: []byte("a"), unlist: true}}, nil, Limits{}},
		{"listed but missing", []member{db}, func(m *Manifest) {
			m.Files = append(m.Files, File{Name: "identities/lxmf", Size: 1, SHA256: hex64})
		}, Limits{}},
		{"wrong hash", []member{db, {name: "identities/lxmf", data: []byte("a")}}, func(m *Manifest) { m.Files[1].SHA256 = hex64 }, Limits{}},
		{"wrong size", []member{db, {name: "identities/lxmf", data: []byte("a")}}, func(m *Manifest) { m.Files[1].Size = 2 }, Limits{}},
		{"no database", []member{{name: "identities/lxmf", data: []byte("a")}}, nil, Limits{}},
		{"wrong format", []member{db}, func(m *Manifest) { m.Format = "meshchatx" }, Limits{}},
		{"zero schema", []member{db}, func(m *Manifest) { m.SchemaVersion = 0 }, Limits{}},
		{"member over cap", []member{db, {name: "attachments/" + hex64, data: make([]byte, 1<<20)}}, nil, Limits{MaxMember: 1 << 10}},
		{"total over cap", []member{db, {name: "attachments/" + hex64, data: make([]byte, 1<<20)}}, nil, Limits{MaxTotal: 1 << 10}},
		{"too many members", []member{db, {name: "identities/a"}, {name: "identities/b"}}, nil, Limits{MaxMembers: 2}},
		{"archive over cap", []member{db}, nil, Limits{MaxArchive: 10}},
		{"database is not sqlite", []member{db}, nil, Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dataDir := t.TempDir()
			p := filepath.Join(t.TempDir(), "a.zip")
			buildZip(t, p, c.members, c.fix)
			if _, _, err := Restore(context.Background(), p, dataDir, RestoreOptions{Limits: c.limits}); !IsInvalid(err) {
				t.Fatalf("restore = %v, want an invalid-archive error", err)
			}
			if got := listAll(t, dataDir); len(got) != 1 {
				t.Fatalf("refused restore wrote %v", got)
			}
		})
	}
}

func TestSnapshotNamesAndRoot(t *testing.T) {
	dir := t.TempDir()
	good := "reticle-20261202-184400-123-manual.zip"
	writeFile(t, dir, good, []byte("z"))
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, filepath.Dir(outside), "secret", []byte("s"))
	if err := os.Symlink(outside, filepath.Join(dir, "reticle-20261202-184400-124-manual.zip")); err != nil {
		t.Fatal(err)
	}
	f, _, err := OpenInDir(dir, good)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	bad := []string{
		"../" + good, "/" + good, good + "/", "..%2F" + good, "%2e%2e%2f" + good, "reticle-20261202-184400-123-manual.zip\x00",
		"reticle-20261202-184400-123-manual.ｚip", "reticle-20261202-184400-123-evil.zip", "reticle.db", "", ".", "..",
		`..\` + good, "snapshots/" + good, "reticle-20261202-184400-123-manual.zip.tmp",
		"reticle-20261202-184400-124-manual.zip", // a symlink to a file outside
	}
	for _, n := range bad {
		if f, _, err := OpenInDir(dir, n); err == nil {
			_ = f.Close()
			t.Errorf("OpenInDir(%q) succeeded", n)
		}
		if err := RemoveInDir(dir, n); err == nil {
			t.Errorf("RemoveInDir(%q) succeeded", n)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("file outside was touched: %v", err)
	}
	if err := RemoveInDir(dir, good); err != nil {
		t.Fatal(err)
	}
}
