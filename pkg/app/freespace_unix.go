//go:build unix

package app

import (
	"fmt"
	"syscall"
)

// freeSpace is the bytes of dir's file system available to unprivileged writers (statfs f_bavail).
func freeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil //nolint:gosec,unconvert // field types differ by platform
}
