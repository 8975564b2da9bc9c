package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

type result struct {
	code     int
	out, err string
}

func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stage lays out a release tree: DIR/reticle and DIR/doc/LICENSE.
func stage(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	mustWrite(t, filepath.Join(d, "reticle"), "\x7fELF binary")
	mustWrite(t, filepath.Join(d, "doc", "LICENSE"), "MIT")
	return d
}

func TestKeygenManifestSignVerify(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		head string
	}{
		{"cosign encrypted", nil, map[string]string{"COSIGN_PASSWORD": "s3cret"}, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"},
		{"plain", []string{"--plain"}, nil, "-----BEGIN PRIVATE KEY-----"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := stage(t)
			keys := t.TempDir()
			priv, pub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
			r := runCmd(t, tc.env, append([]string{"keygen", "--out-priv", priv, "--out-pub", pub}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("keygen: %+v", r)
			}
			kb, _ := os.ReadFile(priv)
			if !strings.HasPrefix(string(kb), tc.head) {
				t.Fatalf("private key starts %q", string(kb[:40]))
			}
			if fi, _ := os.Stat(priv); fi.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %v", fi.Mode())
			}
			pb, _ := os.ReadFile(pub)
			if _, err := integrity.ParsePublicKeyPEM(pb); err != nil {
				t.Fatal(err)
			}
			man := filepath.Join(d, "manifest.json")
			r = runCmd(t, nil, "manifest", "--root", d, "--out", man, "reticle", "doc/LICENSE")
			if r.code != 0 || !strings.Contains(r.out, "(2 files)") {
				t.Fatalf("manifest: %+v", r)
			}
			r = runCmd(t, tc.env, "sign", "--key", priv, "--in", man)
			if r.code != 0 {
				t.Fatalf("sign: %+v", r)
			}
			bun := man + integrity.BundleSuffix
			if err := integrity.VerifyBundle(mustRead(t, man), mustRead(t, bun), pb); err != nil {
				t.Fatalf("bundle does not verify: %v", err)
			}
			r = runCmd(t, nil, "verify", "--pub", pub, "--in", man)
			if r.code != 0 || !strings.Contains(r.out, "ok         doc/LICENSE") || !strings.Contains(r.out, "verified 2 files") {
				t.Fatalf("verify: %+v", r)
			}
			mustWrite(t, filepath.Join(d, "doc", "LICENSE"), "GPL")
			r = runCmd(t, nil, "verify", "--pub", pub, "--in", man)
			if r.code != 1 || !strings.Contains(r.out, "mismatch   doc/LICENSE") || !strings.Contains(r.err, "file hash mismatch: doc/LICENSE") {
				t.Fatalf("verify after tampering: %+v", r)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManifestWithExeElsewhere(t *testing.T) {
	d := stage(t)
	exe := filepath.Join(t.TempDir(), "reticle-linux-amd64")
	mustWrite(t, exe, "another binary")
	out := filepath.Join(t.TempDir(), "manifest.json")
	r := runCmd(t, nil, "manifest", "--root", d, "--exe", exe, "--out", out, "doc/LICENSE")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	m, err := integrity.ParseManifest(mustRead(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[1].Path != "reticle" || m.Files[1].Size != int64(len("another binary")) {
		t.Fatalf("%+v", m.Files)
	}
	r = runCmd(t, nil, "manifest", "--root", d, "--out", out, "../etc/passwd")
	if r.code != 1 || !strings.Contains(r.err, "not allowed") {
		t.Fatalf("dotdot path: %+v", r)
	}
}

func TestSignAcceptsPlainKeyFormats(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(k)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := integrity.MarshalPublicKeyPEM(&k.PublicKey)
	for name, blk := range map[string]*pem.Block{
		"sec1":  {Type: "EC PRIVATE KEY", Bytes: sec1},
		"pkcs8": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			key := filepath.Join(d, "k.pem")
			mustWrite(t, key, string(pem.EncodeToMemory(blk)))
			in := filepath.Join(d, "blob.txt")
			mustWrite(t, in, "hello")
			out := filepath.Join(d, "blob.bundle")
			if r := runCmd(t, nil, "sign", "--key", key, "--in", in, "--out", out); r.code != 0 {
				t.Fatalf("%+v", r)
			}
			if err := integrity.VerifyBundle([]byte("hello"), mustRead(t, out), pub); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	d := t.TempDir()
	keys := t.TempDir()
	priv, pub := filepath.Join(keys, "k"), filepath.Join(keys, "p")
	if r := runCmd(t, map[string]string{"COSIGN_PASSWORD": "right"}, "keygen", "--out-priv", priv, "--out-pub", pub); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	in := filepath.Join(d, "manifest.json")
	mustWrite(t, in, `{"version":1,"files":[]}`)
	r := runCmd(t, map[string]string{"COSIGN_PASSWORD": "right"}, "sign", "--key", priv, "--in", in)
	if r.code != 1 || !strings.Contains(r.err, "refusing to sign") {
		t.Fatalf("invalid manifest signed: %+v", r)
	}
	blob := filepath.Join(d, "blob")
	mustWrite(t, blob, "x")
	r = runCmd(t, map[string]string{"COSIGN_PASSWORD": "wrong"}, "sign", "--key", priv, "--in", blob)
	if r.code != 1 || !strings.Contains(r.err, "check COSIGN_PASSWORD") {
		t.Fatalf("wrong password: %+v", r)
	}
	mustWrite(t, filepath.Join(d, "rsa"), "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n")
	r = runCmd(t, nil, "sign", "--key", filepath.Join(d, "rsa"), "--in", blob)
	if r.code != 1 || !strings.Contains(r.err, "invalid private key") {
		t.Fatalf("rsa key: %+v", r)
	}
}

func TestKeygenRefusesOverwrite(t *testing.T) {
	d := t.TempDir()
	priv, pub := filepath.Join(d, "k"), filepath.Join(d, "p")
	mustWrite(t, priv, "precious")
	r := runCmd(t, nil, "keygen", "--out-priv", priv, "--out-pub", pub)
	if r.code != 1 || !strings.Contains(r.err, "refusing to overwrite") {
		t.Fatalf("%+v", r)
	}
	if string(mustRead(t, priv)) != "precious" {
		t.Fatal("existing key overwritten")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"sign", "--in", "x"},
		{"manifest", "--root", "."},
		{"keygen", "--bogus"},
	} {
		if r := runCmd(t, nil, args...); r.code != 2 {
			t.Errorf("%q: code %d, %+v", args, r.code, r)
		}
	}
	if r := runCmd(t, nil, "help"); r.code != 0 || !strings.Contains(r.out, "reticle-sign sign") {
		t.Errorf("help: %+v", r)
	}
}
