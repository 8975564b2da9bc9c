package integrity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// openDataRoot opens the data dir as an [os.Root], so nothing read through it can leave the dir.
func openDataRoot(dataDir string) (*os.Root, error) {
	r, err := os.OpenRoot(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	return r, nil
}

// readDirNoFollow lists dir inside root; a missing dir gives none, a symlinked dir is an error.
func readDirNoFollow(root *os.Root, dir string) ([]fs.DirEntry, error) {
	st, err := root.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory (%s)", dir, st.Mode().Type())
	}
	f, err := root.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	defer func() { _ = f.Close() }() // read-only
	ents, err := f.ReadDir(maxTrackedFiles + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return ents, nil
}

// readRootFile reads at most limit bytes of the regular file rel inside root without following a
// symlink: the name is checked with Lstat and the opened file must be that same file.
func readRootFile(root *os.Root, rel string, limit int64) ([]byte, error) {
	name := filepath.FromSlash(rel)
	st, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	fst, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(st, fst) {
		return nil, errors.New("replaced while being opened")
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}
