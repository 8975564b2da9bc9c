package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatabaseOption(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(secret, []byte("postgres://reticle:from-file@127.0.0.1:5432/reticle\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default is sqlite", nil, nil, ""},
		{"env", nil, map[string]string{"RETICLE_DATABASE": "postgres://u:p@db/reticle"}, "postgres://u:p@db/reticle"},
		{"flag wins over env", []string{"--database", "postgresql://u@db2/r"},
			map[string]string{"RETICLE_DATABASE": "postgres://u:p@db/reticle"}, "postgresql://u@db2/r"},
		{"file secret", nil, map[string]string{"RETICLE_DATABASE_FILE": secret},
			"postgres://reticle:from-file@127.0.0.1:5432/reticle"},
		{"flag wins over file", []string{"--database", "postgres://u@db3/r"},
			map[string]string{"RETICLE_DATABASE_FILE": secret}, "postgres://u@db3/r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Database != tc.want {
				t.Fatalf("Database = %q, want %q", c.Database, tc.want)
			}
		})
	}
}

func TestDatabaseOptionRejectsWithoutEchoingSecret(t *testing.T) {
	for _, bad := range []string{"mysql://u:hunter2@db/r", "hunter2", "postgres://u:hunter2@/r"} {
		_, err := Load([]string{"--database", bad}, env(nil), io.Discard)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%q: err %v, want ErrInvalid", bad, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error repeats the secret: %v", err)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(nil, env(map[string]string{"RETICLE_DATABASE_FILE": empty}), io.Discard); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty file: %v", err)
	}
}

// TestDatabaseNotInHelp: --help prints flag defaults; the database URL from the environment holds a
// password and must not be one of them.
func TestDatabaseNotInHelp(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"--help"}, env(map[string]string{"RETICLE_DATABASE": "postgres://u:hunter2@db/r"}), &out)
	if err == nil {
		t.Fatal("--help did not stop Load")
	}
	if !strings.Contains(out.String(), "-database") || strings.Contains(out.String(), "hunter2") {
		t.Fatalf("help output:\n%s", out.String())
	}
}
