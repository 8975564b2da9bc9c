//go:build unix

package iface

import "syscall"

// setBroadcast enables SO_BROADCAST, as the reference does on its UDP
// sending sockets.
func setBroadcast(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
