package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LockFile is the file in the data dir a running node holds locked.
const LockFile = "reticle.lock"

// ErrRunning means another process (a running node) holds the data dir's lock.
var ErrRunning = errors.New("a reticle node is running on this data dir")

// Lock is the held lock of a data dir. The operating system releases it when the process ends, even
// on kill -9, so a crash never leaves a stale lock behind.
type Lock struct{ f *os.File }

// Acquire takes the data dir's lock without waiting; when another process holds it, the error wraps
// ErrRunning.
func Acquire(dataDir string) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, LockFile), os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // G304: a fixed name in the data dir
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, ErrRunning) {
			return nil, fmt.Errorf("%w (%s is locked); stop it first", ErrRunning, dataDir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
