package plugins

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples builds the example plugins, makes a key and signs them with cmd/reticle-plugin (the
// commands the examples document), installs, grants and runs them.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go plugins")
	}
	dir := t.TempDir()
	tool := filepath.Join(dir, "reticle-plugin")
	goRun(t, "", "go", "build", "-o", tool, "../../cmd/reticle-plugin")
	keyOut := goRun(t, "", tool, "keygen", "-out", filepath.Join(dir, "publisher.key"))
	pubB64 := strings.TrimPrefix(strings.SplitN(keyOut, "\n", 2)[0], "public key: ")
	pub, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		t.Fatalf("keygen output %q: %v", keyOut, err)
	}
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.mg.TrustKey(ctx, "example publisher", pub); err != nil {
		t.Fatal(err)
	}
	install := func(name string, caps ...Capability) {
		t.Helper()
		wasm := buildGo(t, "../../examples/plugins/"+name)
		wasmFile := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(wasmFile, wasm, 0o600); err != nil {
			t.Fatal(err)
		}
		zip := filepath.Join(dir, name+".zip")
		goRun(t, "", tool, "sign", "-key", filepath.Join(dir, "publisher.key"),
			"-manifest", "../../examples/plugins/"+name+"/manifest.json", "-wasm", wasmFile, "-out", zip)
		pkg, err := os.ReadFile(zip) //nolint:gosec // our temp file
		if err != nil {
			t.Fatal(err)
		}
		info, err := f.mg.Install(ctx, pkg)
		if err != nil {
			t.Fatalf("install %s: %v", name, err)
		}
		if info.PublisherName != "example publisher" || info.Enabled {
			t.Fatalf("installed %s: %+v", name, info)
		}
		if _, err := f.mg.SetGrants(ctx, info.ID, caps); err != nil {
			t.Fatal(err)
		}
		if _, err := f.mg.SetEnabled(ctx, info.ID, true); err != nil {
			t.Fatalf("enable %s: %v", name, err)
		}
	}
	install("echo", CapMessagesRead, CapMessagesSend, CapLog)
	install("page", CapPagesServe, CapKV)

	msg := testMsg
	msg.Content = "ping"
	if err := f.mg.DeliverNow(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if f.host.count() != 1 || f.host.sends[0] != msg.Source+":echo: ping" {
		t.Fatalf("echo sent %v", f.host.sends)
	}
	for i, want := range []string{"served 1 times", "served 2 times"} {
		page, err := f.mg.ServePage(ctx, PageRequest{Path: "/page/hello/index.mu", Form: map[string]string{"field_name": "Ann"}})
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if !strings.Contains(string(page), "Hello, Ann.") || !strings.Contains(string(page), want) {
			t.Fatalf("page %d: %q", i, page)
		}
	}
	if _, err := f.mg.ServePage(ctx, PageRequest{Path: "/page/other.mu"}); err != ErrNoPage { //nolint:errorlint // sentinel returned as is
		t.Fatalf("unserved path: %v", err)
	}
}

func goRun(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
