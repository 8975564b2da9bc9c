package plugins

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/integrity"
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

// TestCosignSigningTool: reticle-plugin signs a module with a cosign (ECDSA P-256) key, in one step
// (sign -cosign-key) and the cosign CLI's way (digest, an outside signer, pack); both packages install
// once the owner trusts the printed PEM public key.
func TestCosignSigningTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tool")
	}
	dir := t.TempDir()
	tool := filepath.Join(dir, "reticle-plugin")
	goRun(t, "", "go", "build", "-o", tool, "../../cmd/reticle-plugin")
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	pubPEM, err := integrity.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{keyFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pubFile: pubPEM} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wasm := filepath.Join(dir, "plugin.wasm")
	if err := os.WriteFile(wasm, okModule, 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest.json")
	f := newFixture(t, Options{})
	if err := os.WriteFile(manifest, manifestJSON(t, f.manifest("cosigned", "1.0.0", CapMessagesRead)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.mg.TrustKey(ctx, "cosign publisher", pubPEM); err != nil {
		t.Fatal(err)
	}

	one := filepath.Join(dir, "one.zip")
	out := goRun(t, "", tool, "sign", "-cosign-key", keyFile, "-manifest", manifest, "-wasm", wasm, "-out", one)
	if !strings.Contains(out, string(pubPEM)) {
		t.Fatalf("sign did not print the public key to trust: %q", out)
	}
	pkg, err := os.ReadFile(one) //nolint:gosec // our temp file
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.mg.Install(ctx, pkg); err != nil {
		t.Fatalf("install the one-step package: %v", err)
	}

	// digest -> (cosign sign-blob; here the same bundle format from sigstore-go) -> pack, as version 1.0.1.
	m2 := f.manifest("cosigned", "1.0.1", CapMessagesRead)
	if err := os.WriteFile(manifest, manifestJSON(t, m2), 0o600); err != nil {
		t.Fatal(err)
	}
	signedManifest, blob := filepath.Join(dir, "signed-manifest.json"), filepath.Join(dir, "signed.bin")
	goRun(t, "", tool, "digest", "-cosign-pub", pubFile, "-manifest", manifest, "-wasm", wasm, "-out-manifest", signedManifest, "-out", blob)
	data, err := os.ReadFile(blob) //nolint:gosec // our temp file
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := integrity.SignBundle(ctx, data, priv)
	if err != nil {
		t.Fatal(err)
	}
	bundleFile := filepath.Join(dir, "plugin.sigstore.json")
	if err := os.WriteFile(bundleFile, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	two := filepath.Join(dir, "two.zip")
	goRun(t, "", tool, "pack", "-manifest", signedManifest, "-wasm", wasm, "-bundle", bundleFile, "-out", two)
	if pkg, err = os.ReadFile(two); err != nil { //nolint:gosec // our temp file
		t.Fatal(err)
	}
	info, err := f.mg.Install(ctx, pkg)
	if err != nil || info.Version != "1.0.1" {
		t.Fatalf("install the packed package: %+v, %v", info, err)
	}
}
