//go:build !unix

package iface

import "syscall"

// setBroadcast is a no-op where SO_BROADCAST is not set portably.
func setBroadcast(_, _ string, _ syscall.RawConn) error { return nil }
