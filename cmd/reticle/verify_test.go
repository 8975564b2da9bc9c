package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

// signedRelease writes a release tree signed with a fresh key and returns its dir and public key PEM.
// Layout: DIR/reticle, DIR/LICENSE, DIR/manifest.json, DIR/manifest.json.sigstore.json.
func signedRelease(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"reticle": "\x7fELF release binary", "LICENSE": "MIT"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := integrity.BuildManifest(dir, []string{"reticle", "LICENSE"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bun, err := integrity.SignBundle(context.Background(), b, k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := integrity.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json.sigstore.json"), bun, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, pub
}

func verifyOut(t *testing.T, pub []byte, dev bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	var code int
	if pub == nil {
		code = runVerify(context.Background(), args, &out, &errb)
	} else {
		code = verifyWith(context.Background(), args, &out, &errb, pub, dev)
	}
	return code, out.String(), errb.String()
}

func TestVerifyCommandGoodAndTampered(t *testing.T) {
	dir, pub := signedRelease(t)
	args := []string{"--manifest", filepath.Join(dir, "manifest.json"), "--exe", filepath.Join(dir, "reticle")}
	code, out, _ := verifyOut(t, pub, false, args...)
	if code != 0 {
		t.Fatalf("good release: exit %d\n%s", code, out)
	}
	for _, want := range []string{"signature OK (key ", "OK        LICENSE\n", "OK        reticle\n", "verdict: VERIFIED (2 files)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("good release:\n%s", out)

	if err := os.WriteFile(filepath.Join(dir, "reticle"), []byte("\x7fELF patched binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = verifyOut(t, pub, false, args...)
	if code != 1 {
		t.Fatalf("tampered release: exit %d\n%s", code, out)
	}
	for _, want := range []string{"OK        LICENSE\n", "MISMATCH  reticle (expected sha256 ", "verdict: FAILED: integrity: file hash mismatch: reticle: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("tampered release:\n%s", out)

	// warn mode still reports the failure with exit 1; off skips.
	if code, out, _ := verifyOut(t, pub, false, append(args, "--mode", "warn")...); code != 1 || !strings.Contains(out, "verdict: FAILED") {
		t.Fatalf("warn: %d\n%s", code, out)
	}
	if code, out, _ := verifyOut(t, pub, false, append(args, "--mode", "off")...); code != 0 || !strings.Contains(out, "verdict: SKIPPED") {
		t.Fatalf("off: %d\n%s", code, out)
	}
}

func TestVerifyCommandSignatureFailure(t *testing.T) {
	dir, pub := signedRelease(t)
	man := filepath.Join(dir, "manifest.json")
	b, _ := os.ReadFile(man)
	if err := os.WriteFile(man, bytes.Replace(b, []byte(`"LICENSE"`), []byte(`"LICENCE"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := verifyOut(t, pub, false, "--manifest", man)
	if code != 1 || !strings.Contains(out, "signature FAILED\n") || !strings.Contains(out, "verdict: FAILED: integrity: manifest tampered: ") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestRunVerifyUsesEmbeddedKey(t *testing.T) {
	// A release signed by any key but the embedded cosign.pub is refused by the real command.
	dir, _ := signedRelease(t)
	code, out, _ := verifyOut(t, nil, false, "--manifest", filepath.Join(dir, "manifest.json"), "--exe", filepath.Join(dir, "reticle"))
	if code != 1 || !strings.Contains(out, "verdict: FAILED: integrity: signed with the wrong key: ") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestRunVerifyUnsignedDevelopmentBuild(t *testing.T) {
	for _, p := range integrity.DefaultManifestPaths() {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists on this machine", p)
		}
	}
	// The test binary is a development build (no version stamped in) without a manifest.
	code, out, _ := verifyOut(t, nil, false)
	if code != 0 || out != "verdict: UNSIGNED DEVELOPMENT BUILD (nothing to verify)\n" {
		t.Fatalf("exit %d\n%q", code, out)
	}
	// A release build without a manifest fails.
	_, pub := signedRelease(t)
	code, out, _ = verifyOut(t, pub, false)
	if code != 1 || !strings.Contains(out, "signature MISSING\n") || !strings.Contains(out, "verdict: FAILED: integrity: no release manifest found: looked in ") {
		t.Fatalf("release build: exit %d\n%s", code, out)
	}
}

func TestVerifyCommandAtRest(t *testing.T) {
	dir, pub := signedRelease(t)
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "identities"), 0o700); err != nil {
		t.Fatal(err)
	}
	id := filepath.Join(data, "identities", "primary")
	if err := os.WriteFile(id, []byte("key one"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := integrity.Open(data, integrity.AtRestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RecordCleanShutdown(nil); err != nil {
		t.Fatal(err)
	}
	base := []string{"--manifest", filepath.Join(dir, "manifest.json"), "--exe", filepath.Join(dir, "reticle"), "--data-dir", data}
	code, out, _ := verifyOut(t, pub, false, base...)
	if code != 0 || !strings.Contains(out, "at-rest: OK: data unchanged") || !strings.Contains(out, "verdict: VERIFIED") {
		t.Fatalf("unchanged: exit %d\n%s", code, out)
	}
	if err := os.WriteFile(id, []byte("key two"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = verifyOut(t, pub, false, base...)
	if code != 1 || !strings.Contains(out, "at-rest: CHANGED: changed while reticle was not running: identities/primary (modified)") ||
		!strings.Contains(out, "reticle verify --ack-at-rest --data-dir "+data) {
		t.Fatalf("changed: exit %d\n%s", code, out)
	}
	t.Logf("changed identity:\n%s", out)
	code, out, _ = verifyOut(t, pub, false, "--ack-at-rest", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "accepted changes: identities/primary (modified)") || !strings.HasSuffix(out, "verdict: ACKNOWLEDGED\n") {
		t.Fatalf("ack: exit %d\n%s", code, out)
	}
	code, out, _ = verifyOut(t, pub, false, base...)
	if code != 0 || !strings.Contains(out, "at-rest: OK") {
		t.Fatalf("after ack: exit %d\n%s", code, out)
	}
}

func TestVerifyCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--mode", "strict"},
		{"--ack-at-rest"},
		{"--bogus"},
		{"extra"},
	} {
		if code, _, _ := verifyOut(t, []byte("k"), true, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
