package rns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
)

// TestIdentitySymlinkRefused: a symlinked identity file is refused with a clear error, whether it
// points at a valid key (which would otherwise be loaded) or nowhere (which would otherwise be
// created through the link), and the target is never touched.
func TestIdentitySymlinkRefused(t *testing.T) {
	real := filepath.Join(t.TempDir(), "foreign")
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Save(real); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"to a valid key": real, "dangling": real + ".missing"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "identities", "lxmf")
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateIdentity(p, nil)
			if !errors.Is(err, identity.ErrNotRegularFile) || !strings.Contains(err.Error(), "symlink") {
				t.Fatalf("LoadOrCreateIdentity: %v", err)
			}
			if _, err := identity.Load(p); !errors.Is(err, identity.ErrNotRegularFile) {
				t.Fatalf("identity.Load: %v", err)
			}
			if _, err := os.Lstat(real + ".missing"); !os.IsNotExist(err) {
				t.Fatal("a key was created through the dangling link")
			}
		})
	}
	// The node refuses to start on a symlinked transport identity.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "identities"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, TransportIdentityFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{DataDir: dir}); !errors.Is(err, identity.ErrNotRegularFile) {
		t.Fatalf("New: %v", err)
	}
}

func TestStateFileSymlinkNotFollowed(t *testing.T) {
	f, err := identity.OpenNoFollow(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) || f != nil {
		t.Fatalf("missing: %v", err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.OpenNoFollow(link); !errors.Is(err, identity.ErrNotRegularFile) {
		t.Fatalf("symlink: %v", err)
	}
	f, err = identity.OpenNoFollow(target)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}
