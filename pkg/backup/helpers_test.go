package backup

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// seeded is a data dir with a store holding messages with attachments, identities and transport state.
type seeded struct {
	dir string
	st  *store.Store
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, DatabaseFile)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// seed makes a data dir with n messages (every third with an attachment file).
func seed(t testing.TB, n int) seeded {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	if err := st.SetSetting(ctx, "display_name", "owner"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "identities/lxmf", randBytes(t, 64))
	writeFile(t, dir, "identities/transport", randBytes(t, 64))
	writeFile(t, dir, "identities/ratchets/"+hex.EncodeToString(randBytes(t, 16)), randBytes(t, 300))
	writeFile(t, dir, "rns/known_destinations", randBytes(t, 500))
	writeFile(t, dir, "rns/path_table", randBytes(t, 200))
	insertMessages(t, dir, st, 0, n)
	return seeded{dir: dir, st: st}
}

func insertMessages(t testing.TB, dir string, st *store.Store, from, n int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		m := &store.Message{MessageID: fmt.Sprintf("%064x", i), Direction: store.DirectionIn, Peer: fmt.Sprintf("%032x", i%7),
			Content: fmt.Appendf(nil, "message %d", i), Timestamp: float64(i), State: store.StateReceived,
			CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
		var atts []store.Attachment
		if i%3 == 0 {
			data := fmt.Appendf(nil, "attachment %d", i)
			sum := sha256.Sum256(data)
			h := hex.EncodeToString(sum[:])
			writeFile(t, dir, "attachments/"+h, data)
			atts = append(atts, store.Attachment{Kind: store.KindFile, Name: "a.txt", Hash: h, Size: int64(len(data))})
		}
		if _, err := st.InsertMessage(ctx, m, atts...); err != nil {
			t.Fatal(err)
		}
	}
}

// tree returns every regular file below dir (except the database and snapshot/lock files) by
// slash name.
func tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sub := range []string{IdentitiesDir, AttachmentDir, RNSDir} {
		_ = filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p) //nolint:gosec // test
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = b
			return nil
		})
	}
	return out
}

func digest(t testing.TB, dir string) map[string]store.TableDigest {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, DatabaseFile), SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	d, err := st.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// member is one entry of a hand-built archive.
type member struct {
	name   string
	data   []byte
	mode   fs.FileMode // 0 means a regular 0600 file
	unlist bool        // leave it out of the manifest
}

// buildZip writes an archive of members plus a manifest listing them (edited by fix when set).
func buildZip(t testing.TB, path string, members []member, fix func(*Manifest)) {
	t.Helper()
	m := Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: time.Now().UTC(), SchemaVersion: store.LatestSchemaVersion()}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, mb := range members {
		hdr := &zip.FileHeader{Name: mb.name, Method: zip.Deflate}
		mode := mb.mode
		if mode == 0 {
			mode = 0o600
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(mb.data); err != nil {
			t.Fatal(err)
		}
		if !mb.unlist {
			sum := sha256.Sum256(mb.data)
			m.Files = append(m.Files, File{Name: mb.name, Size: int64(len(mb.data)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	if fix != nil {
		fix(&m)
	}
	mj, _ := json.Marshal(m)
	w, err := zw.Create(ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(mj); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// listAll returns every path below dir, for "nothing was written" checks.
func listAll(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	return out
}
