package identity

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotRegularFile means a key or state file is a symlink (or another non-regular file) and was not
// opened: a symlink could point a key at a file someone else controls.
var ErrNotRegularFile = errors.New("not a regular file (symlinks are refused)")

// OpenNoFollow opens path for reading without following a symlink at its last element: the name is
// checked with Lstat and the opened file must be the same file, so a swap in between is caught too. A
// missing file gives an error that wraps os.ErrNotExist.
func OpenNoFollow(path string) (*os.File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: %s", path, ErrNotRegularFile, st.Mode().Type())
	}
	f, err := os.Open(path) //nolint:gosec // G304: the caller's key file; checked above and re-checked as the same file below
	if err != nil {
		return nil, err
	}
	fst, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !os.SameFile(st, fst) {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w: replaced while being opened", path, ErrNotRegularFile)
	}
	return f, nil
}
