package backup

import (
	"archive/zip"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/store"
	"github.com/reticle-mesh/reticle/pkg/testkit"
)

// TestSnapshotOfPostgresStore: with the store in PostgreSQL a snapshot holds a pg_dump of it
// (reticle.pgdump) beside the identities, attachments and transport state, verifies like any other,
// and restore refuses it with the pg_restore steps instead of half-restoring.
func TestSnapshotOfPostgresStore(t *testing.T) {
	if !testkit.UsesPostgres() {
		t.Skip("set RETICLE_TEST_DATABASE to a PostgreSQL URL (.ci/postgres start DIR prints one)")
	}
	if _, err := store.FindPGDump(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, DatabaseFile)
	st, err := store.Open(ctx, store.Options{Path: p, Database: testkit.Database(t, p)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	writeFile(t, dir, "identities/lxmf", randBytes(t, 64))
	writeFile(t, dir, "rns/path_table", randBytes(t, 200))
	insertMessages(t, dir, st, 0, 30)
	out := filepath.Join(t.TempDir(), "pg.zip")
	m, err := Create(ctx, st, dir, out, CreateOptions{Version: "test", Reason: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 30 || m.SchemaVersion != store.LatestSchemaVersion() || len(m.MissingAttachments) != 0 {
		t.Fatalf("manifest = %+v", m)
	}
	if _, err := Verify(out, Limits{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	_ = zr.Close()
	if !names[PostgresDumpFile] || names[DatabaseFile] || !names["identities/lxmf"] || !names["rns/path_table"] {
		t.Fatalf("archive members: %v", names)
	}
	attachments := 0
	for n := range names {
		if filepath.Dir(n) == AttachmentDir {
			attachments++
		}
	}
	if attachments != 10 {
		t.Fatalf("%d attachments in the archive, want 10", attachments)
	}
	_, _, err = Restore(ctx, out, t.TempDir(), RestoreOptions{})
	if !errors.Is(err, ErrPostgresDump) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("restore of a PostgreSQL snapshot: %v, want ErrPostgresDump", err)
	}
}
