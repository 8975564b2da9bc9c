package integrity

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildManifestSortedAndRoundTrips(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "reticle"), []byte("binary"))
	writeFile(t, filepath.Join(root, "ui", "index.html"), []byte("<html>"))
	writeFile(t, filepath.Join(root, "LICENSE"), []byte("MIT"))
	m, err := BuildManifest(root, []string{"ui/index.html", "reticle", "LICENSE"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range m.Files {
		got = append(got, f.Path)
	}
	if strings.Join(got, ",") != "LICENSE,reticle,ui/index.html" {
		t.Fatalf("paths not sorted: %v", got)
	}
	// sha256("MIT")
	if m.Files[0].SHA256 != "e5dcffe836b6ec8a58e492419b550e65fb8cbdc308503979e5dacb33ac7ea3b7" || m.Files[0].Size != 3 {
		t.Fatalf("LICENSE entry wrong: %+v", m.Files[0])
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("{\n  \"version\": 1,")) {
		t.Fatalf("unexpected encoding:\n%s", b)
	}
	m2, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := m2.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatal("marshal is not stable across a round trip")
	}
}

func TestBuildManifestHashes(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a"), []byte("abc"))
	m, err := BuildManifest(root, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	if m.Files[0].SHA256 != want || m.Files[0].Size != 3 {
		t.Fatalf("got %+v", m.Files[0])
	}
}

func TestBuildManifestRejectsBadPaths(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a"), []byte("x"))
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, outside, []byte("s"))
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, paths := range map[string][]string{
		"dotdot":    {"../a"},
		"inner dot": {"x/../a"},
		"absolute":  {"/etc/passwd"},
		"empty":     {""},
		"dot":       {"."},
		"duplicate": {"a", "a"},
		"symlink":   {"escape"},
		"directory": {"dir"},
		"missing":   {"nope"},
		"backslash": {`a\b`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := BuildManifest(root, paths); err == nil {
				t.Fatalf("BuildManifest(%q) succeeded", paths)
			}
		})
	}
}

func TestParseManifestRejects(t *testing.T) {
	const h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	for name, in := range map[string]string{
		"not json":      `nope`,
		"version 2":     `{"version":2,"files":[{"path":"a","sha256":"` + h + `","size":1}]}`,
		"no files":      `{"version":1,"files":[]}`,
		"unsorted":      `{"version":1,"files":[{"path":"b","sha256":"` + h + `","size":1},{"path":"a","sha256":"` + h + `","size":1}]}`,
		"duplicate":     `{"version":1,"files":[{"path":"a","sha256":"` + h + `","size":1},{"path":"a","sha256":"` + h + `","size":1}]}`,
		"dotdot":        `{"version":1,"files":[{"path":"../a","sha256":"` + h + `","size":1}]}`,
		"absolute":      `{"version":1,"files":[{"path":"/a","sha256":"` + h + `","size":1}]}`,
		"unclean":       `{"version":1,"files":[{"path":"a//b","sha256":"` + h + `","size":1}]}`,
		"short hash":    `{"version":1,"files":[{"path":"a","sha256":"abcd","size":1}]}`,
		"upper hash":    `{"version":1,"files":[{"path":"a","sha256":"` + strings.ToUpper(h) + `","size":1}]}`,
		"negative size": `{"version":1,"files":[{"path":"a","sha256":"` + h + `","size":-1}]}`,
		"unknown field": `{"version":1,"files":[{"path":"a","sha256":"` + h + `","size":1}],"x":1}`,
		"trailing":      `{"version":1,"files":[{"path":"a","sha256":"` + h + `","size":1}]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseManifest([]byte(in))
			if !errors.Is(err, ErrManifestMalformed) {
				t.Fatalf("want ErrManifestMalformed, got %v", err)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	const h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	f.Add([]byte(`{"version":1,"files":[{"path":"reticle","sha256":"` + h + `","size":3}]}`))
	f.Add([]byte(`{"version":1,"files":[{"path":"../x","sha256":"` + h + `","size":3}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, e := range m.Files {
			if checkPath(e.Path) != nil || filepath.IsAbs(e.Path) || strings.Contains(e.Path, "..") && !filepath.IsLocal(e.Path) {
				t.Fatalf("accepted bad path %q", e.Path)
			}
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("valid manifest does not marshal: %v", err)
		}
		if _, err := ParseManifest(out); err != nil {
			t.Fatalf("re-parse failed: %v", err)
		}
	})
}
