package backup

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to the archive reader: it must refuse (or accept) without panicking,
// and never accept something that is not a complete snapshot with a manifest.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	seedPath := filepath.Join(dir, "seed.zip")
	buildZip(f, seedPath, []member{{name: DatabaseFile, data: []byte("db")}, {name: "identities/lxmf", data: []byte("k")}}, nil)
	if b, err := os.ReadFile(seedPath); err == nil { //nolint:gosec // test
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a.zip")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := Verify(p, Limits{MaxMember: 1 << 20, MaxTotal: 4 << 20, MaxMembers: 100})
		if err == nil && (m.Format != Format || len(m.Files) == 0) {
			t.Fatalf("accepted %+v", m)
		}
	})
}
