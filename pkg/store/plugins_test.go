package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reticle-mesh/reticle/pkg/testkit"
)

func TestPluginRecords(t *testing.T) {
	ctx := context.Background()
	dbp := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(ctx, Options{Path: dbp, Database: testkit.Database(t, dbp)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	now := time.Now().UTC()
	p := &Plugin{ID: "echo", Version: "1.0.0", Manifest: []byte("{}"), Wasm: []byte{0, 1}, Signature: []byte{2},
		WasmSHA256: "ab", PublisherKeyID: "k", InstalledAt: now, UpdatedAt: now}
	if err := s.PutPlugin(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPluginGrants(ctx, "echo", "1.0.0", []string{"log", "kv"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPluginEnabled(ctx, "echo", true, ""); err != nil {
		t.Fatal(err)
	}
	p.Version, p.Enabled = "1.1.0", false // an upgrade replaces every column
	if err := s.PutPlugin(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPlugin(ctx, "echo")
	if err != nil || got.Version != "1.1.0" || got.Enabled {
		t.Fatalf("after upgrade: %+v %v", got, err)
	}
	if g, _ := s.PluginGrants(ctx, "echo", "1.1.0"); len(g) != 0 {
		t.Fatalf("grants carried to the new version: %v", g)
	}
	if g, _ := s.PluginGrants(ctx, "echo", "1.0.0"); !slices.Equal(g, []string{"kv", "log"}) {
		t.Fatalf("grants of 1.0.0: %v", g)
	}

	// kv quota: keys and values count.
	if err := s.PluginKVSet(ctx, "echo", "a", make([]byte, 90), 100); err != nil {
		t.Fatal(err)
	}
	if err := s.PluginKVSet(ctx, "echo", "b", make([]byte, 9), 100); !errors.Is(err, ErrQuota) {
		t.Fatalf("over quota: %v", err)
	}
	if err := s.PluginKVSet(ctx, "echo", "a", make([]byte, 99), 100); err != nil {
		t.Fatalf("replacing a value counts only the new one: %v", err)
	}
	if v, ok, err := s.PluginKVGet(ctx, "echo", "a"); err != nil || !ok || len(v) != 99 {
		t.Fatalf("get: %d %v %v", len(v), ok, err)
	}

	for _, e := range []string{"install", "grant", "failure"} {
		if err := s.AddPluginAudit(ctx, &PluginAudit{PluginID: "echo", Event: e, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	log, err := s.PluginAuditLog(ctx, "echo", 2)
	if err != nil || len(log) != 2 || log[0].Event != "failure" {
		t.Fatalf("audit: %+v %v", log, err)
	}

	if err := s.AddPluginPublisher(ctx, &PluginPublisher{KeyID: "k", Name: "me", PublicKey: make([]byte, 32), AddedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPluginPublisher(ctx, &PluginPublisher{KeyID: "k", Name: "renamed", PublicKey: make([]byte, 32), AddedAt: now}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.PluginPublishers(ctx); len(keys) != 1 || keys[0].Name != "renamed" {
		t.Fatalf("publishers: %+v", keys)
	}
	if err := s.DeletePluginPublisher(ctx, "k"); err != nil {
		t.Fatal(err)
	}

	if err := s.DeletePlugin(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.PluginKVGet(ctx, "echo", "a"); ok {
		t.Fatal("kv survived the delete")
	}
	if _, err := s.GetPlugin(ctx, "echo"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.DeletePlugin(ctx, "echo"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
