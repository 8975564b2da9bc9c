package backup

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Names of what a snapshot holds, relative to the data dir and slash-separated.
const (
	ManifestName = "manifest.json"
	DatabaseFile = "reticle.db"
	// PostgresDumpFile is the database part of a snapshot of a PostgreSQL store: pg_dump's custom format.
	PostgresDumpFile = "reticle.pgdump"
	IdentitiesDir    = "identities"
	RatchetsDir      = "identities/ratchets"
	AttachmentDir    = "attachments"
	RNSDir           = "rns"
	// SnapshotsDir holds the node's own snapshots, below the data dir.
	SnapshotsDir = "snapshots"
)

// ErrUnsafeName means a file name from a request or an archive was refused: not one Reticle writes,
// or one that could leave its directory.
var ErrUnsafeName = errors.New("unsafe file name")

var (
	identityRe   = regexp.MustCompile(`^identities/[a-z0-9][a-z0-9_-]{0,63}$`)
	ratchetRe    = regexp.MustCompile(`^identities/ratchets/[0-9a-f]{32}$`)
	attachmentRe = regexp.MustCompile(`^attachments/[0-9a-f]{64}$`)
	snapshotRe   = regexp.MustCompile(`^reticle-[0-9]{8}-[0-9]{6}-[0-9]{3}-(manual|scheduled|premigrate|prerestore)\.zip$`)
	rnsFiles     = map[string]bool{"rns/known_destinations": true, "rns/path_table": true}
)

// allowedMember reports whether name is a member a snapshot may hold. The patterns are exact and
// ASCII-only, so absolute paths, "..", backslashes, percent-encoding and look-alike Unicode never match.
func allowedMember(name string) bool {
	switch {
	case name == ManifestName, name == DatabaseFile, name == PostgresDumpFile, rnsFiles[name]:
		return true
	case identityRe.MatchString(name) && name != RatchetsDir:
		return true
	case ratchetRe.MatchString(name), attachmentRe.MatchString(name):
		return true
	}
	return false
}

// CheckSnapshotName returns nil when name is the name of a snapshot this package writes, and an
// ErrUnsafeName error otherwise. It is the only check a name from a request needs before [OpenInDir].
func CheckSnapshotName(name string) error {
	if !snapshotRe.MatchString(name) {
		return fmt.Errorf("%w: %q is not a snapshot name", ErrUnsafeName, clip(name))
	}
	return nil
}

// clip keeps hostile names short in error messages.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// OpenInDir opens the regular file name directly inside dir through an [os.Root]: a name that is not a
// snapshot name, or that is a link, a directory or a device, is refused, and nothing outside dir is
// ever opened.
func OpenInDir(dir, name string) (*os.File, os.FileInfo, error) {
	if err := CheckSnapshotName(name); err != nil {
		return nil, nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer func() { _ = root.Close() }()
	st, err := root.Lstat(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is not a regular file", ErrUnsafeName, name)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, st, nil
}

// RemoveInDir deletes the snapshot name directly inside dir through an [os.Root], with the same
// checks as [OpenInDir].
func RemoveInDir(dir, name string) error {
	if err := CheckSnapshotName(name); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	defer func() { _ = root.Close() }()
	st, err := root.Lstat(name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrUnsafeName, name)
	}
	if err := root.Remove(name); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
