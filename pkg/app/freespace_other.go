//go:build !unix

package app

import "errors"

// freeSpace is not implemented on this platform: the low-disk watermark stays off.
func freeSpace(string) (uint64, error) { return 0, errors.New("free space unknown on this platform") }
