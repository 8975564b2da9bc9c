//go:build !unix

package backup

import "os"

// lockFile is a no-op where flock does not exist: restore then cannot detect a running node.
func lockFile(*os.File) error { return nil }
