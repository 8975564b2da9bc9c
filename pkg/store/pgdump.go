package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoPGDump means the store is in PostgreSQL and no pg_dump was found to snapshot it.
var ErrNoPGDump = errors.New("no pg_dump on PATH or under /usr/lib/postgresql/*/bin: install the PostgreSQL client " +
	"(e.g. apt-get install postgresql-client) or back the database up with the server's tools")

// libpqParams are the URL parameters pg_dump (libpq) understands; the others (pgx's own, run-time
// settings such as search_path) are dropped from the URL it gets.
var libpqParams = map[string]bool{
	"application_name": true, "channel_binding": true, "client_encoding": true, "connect_timeout": true,
	"gssencmode": true, "keepalives": true, "keepalives_idle": true, "keepalives_interval": true,
	"keepalives_count": true, "options": true, "passfile": true, "service": true, "sslcert": true,
	"sslcrl": true, "sslkey": true, "sslmode": true, "sslrootcert": true, "sslsni": true,
	"ssl_min_protocol_version": true, "target_session_attrs": true, "tcp_user_timeout": true,
}

// FindPGDump returns pg_dump from PATH, else the newest under /usr/lib/postgresql (Debian's layout), or
// ErrNoPGDump.
func FindPGDump() (string, error) {
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p, nil
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	if len(ms) == 0 {
		return "", ErrNoPGDump
	}
	sort.Slice(ms, func(i, j int) bool { return versionDir(ms[i]) < versionDir(ms[j]) })
	return ms[len(ms)-1], nil
}

// versionDir orders /usr/lib/postgresql/N/bin/pg_dump by N as a number.
func versionDir(p string) string {
	v := filepath.Base(filepath.Dir(filepath.Dir(p)))
	return fmt.Sprintf("%08s", v)
}

// Dump writes a pg_dump (custom format) of the store's schema to path, which must not exist yet: the
// PostgreSQL counterpart of VacuumInto. pg_dump reads in one snapshot, so the node keeps running. The
// password reaches pg_dump through its environment, never its command line. On SQLite it refuses.
func (s *Store) Dump(ctx context.Context, path string) error {
	if !s.pg {
		return errors.New("dump: a SQLite store is copied with VacuumInto")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("dump %s: file exists", path)
	}
	bin, err := FindPGDump()
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	var schema string
	if err := s.db.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		return fmt.Errorf("dump: current schema: %w", err)
	}
	if schema == "" {
		return errors.New("dump: no current schema (does the search_path name an existing schema?)")
	}
	u, err := url.Parse(s.dsn)
	if err != nil {
		return fmt.Errorf("dump: database URL does not parse")
	}
	env := os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
		}
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if !libpqParams[k] {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: a path inside the data dir
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	var stderr bytes.Buffer
	//nolint:gosec // G204: pg_dump found above; the arguments are the store's own schema and URL, no shell
	cmd := exec.CommandContext(ctx, bin, "--format=custom", "--no-owner", "--no-privileges",
		"--schema="+schema, "--dbname="+u.String())
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 4096}
	runErr := cmd.Run()
	if err := f.Close(); runErr == nil {
		runErr = err
	}
	if runErr != nil {
		_ = os.Remove(path)
		return fmt.Errorf("dump: pg_dump: %w: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
