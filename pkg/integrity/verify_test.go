package integrity

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type release struct {
	root, manifest, bundle, exe string
	priv                        *ecdsa.PrivateKey
	pub                         []byte
}

func newKey(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, pub
}

// newRelease lays out a signed release: root/{reticle,LICENSE,ui/index.html,manifest.json,bundle}.
func newRelease(t testing.TB) *release {
	t.Helper()
	r := &release{root: t.TempDir()}
	r.priv, r.pub = newKey(t)
	r.exe = filepath.Join(r.root, "reticle")
	writeFile(t, r.exe, bytes.Repeat([]byte("ELF"), 1000))
	writeFile(t, filepath.Join(r.root, "LICENSE"), []byte("MIT License\n"))
	writeFile(t, filepath.Join(r.root, "ui", "index.html"), []byte("<!doctype html>"))
	m, err := BuildManifest(r.root, []string{"reticle", "LICENSE", "ui/index.html"})
	if err != nil {
		t.Fatal(err)
	}
	r.sign(t, m, r.priv)
	return r
}

func (r *release) sign(t testing.TB, m *Manifest, priv *ecdsa.PrivateKey) {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.manifest = filepath.Join(r.root, ManifestName)
	r.bundle = r.manifest + BundleSuffix
	writeFile(t, r.manifest, b)
	bun, err := SignBundle(context.Background(), b, priv)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.bundle, bun)
}

func (r *release) opts() Options {
	return Options{Mode: ModeEnforce, ManifestPath: r.manifest, PublicKeyPEM: r.pub, ExePath: r.exe}
}

func flipByte(t *testing.T, p string, off int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off = len(b) + off
	}
	b[off] ^= 0x01
	writeFile(t, p, b)
}

// editBundle rewrites fields of the bundle JSON.
func editBundle(t *testing.T, p string, edit func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, out)
}

func TestVerifyGoodRelease(t *testing.T) {
	r := newRelease(t)
	rep, err := Verify(r.opts())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Status != StatusVerified || len(rep.Files) != 3 || rep.Err != nil {
		t.Fatalf("report: %+v", rep)
	}
	for _, f := range rep.Files {
		if f.Status != FileOK || f.Actual != f.Expected {
			t.Fatalf("file %+v", f)
		}
	}
	if !strings.Contains(rep.Message, "verified 3 files") {
		t.Fatalf("message %q", rep.Message)
	}
}

func TestVerifyFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, r *release, o *Options)
		want    error
		message []string
	}{
		{"listed file byte flipped", func(t *testing.T, r *release, o *Options) {
			flipByte(t, filepath.Join(r.root, "LICENSE"), 0)
		}, ErrFileMismatch, []string{"file hash mismatch: LICENSE", "expected sha256"}},
		{"executable byte flipped", func(t *testing.T, r *release, o *Options) {
			flipByte(t, r.exe, 1500)
		}, ErrFileMismatch, []string{"file hash mismatch: reticle"}},
		{"file grew", func(t *testing.T, r *release, o *Options) {
			f, _ := os.OpenFile(filepath.Join(r.root, "ui", "index.html"), os.O_APPEND|os.O_WRONLY, 0)
			_, _ = f.Write([]byte("<script>"))
			_ = f.Close()
		}, ErrFileMismatch, []string{"ui/index.html"}},
		{"file removed", func(t *testing.T, r *release, o *Options) {
			_ = os.Remove(filepath.Join(r.root, "ui", "index.html"))
		}, ErrFileMissing, []string{"file missing: ui/index.html"}},
		{"two files bad", func(t *testing.T, r *release, o *Options) {
			_ = os.Remove(filepath.Join(r.root, "ui", "index.html"))
			flipByte(t, filepath.Join(r.root, "LICENSE"), 0)
		}, ErrFileMismatch, []string{"LICENSE", "and 1 more file failed"}},
		{"manifest byte flipped", func(t *testing.T, r *release, o *Options) {
			flipByte(t, r.manifest, 40)
		}, ErrManifestTampered, []string{"manifest tampered", "is not the signed digest"}},
		{"manifest hash rewritten", func(t *testing.T, r *release, o *Options) {
			b, _ := os.ReadFile(r.manifest)
			m, _ := ParseManifest(b)
			m.Files[0].SHA256 = strings.Repeat("0", 64)
			nb, _ := m.Marshal()
			writeFile(t, r.manifest, nb)
		}, ErrManifestTampered, []string{"manifest tampered"}},
		{"bundle signature byte flipped", func(t *testing.T, r *release, o *Options) {
			editBundle(t, r.bundle, func(m map[string]any) {
				ms := m["messageSignature"].(map[string]any)
				sig, _ := base64.StdEncoding.DecodeString(ms["signature"].(string))
				sig[len(sig)/2] ^= 0x01
				ms["signature"] = base64.StdEncoding.EncodeToString(sig)
			})
		}, ErrBadSignature, []string{"bad signature: does not verify against the trusted key"}},
		{"bundle digest swapped to match tampered manifest", func(t *testing.T, r *release, o *Options) {
			flipByte(t, r.manifest, 40)
			b, _ := os.ReadFile(r.manifest)
			sum := sha256Sum(b)
			editBundle(t, r.bundle, func(m map[string]any) {
				ms := m["messageSignature"].(map[string]any)
				ms["messageDigest"].(map[string]any)["digest"] = base64.StdEncoding.EncodeToString(sum)
			})
		}, ErrBadSignature, []string{"bad signature"}},
		{"bundle truncated", func(t *testing.T, r *release, o *Options) {
			b, _ := os.ReadFile(r.bundle)
			writeFile(t, r.bundle, b[:len(b)/2])
		}, ErrBundleMalformed, []string{"signature bundle malformed"}},
		{"bundle first byte flipped", func(t *testing.T, r *release, o *Options) {
			flipByte(t, r.bundle, 0)
		}, ErrBundleMalformed, []string{"signature bundle malformed"}},
		{"bundle media type changed", func(t *testing.T, r *release, o *Options) {
			editBundle(t, r.bundle, func(m map[string]any) { m["mediaType"] = "application/x-nope" })
		}, ErrBundleMalformed, nil},
		{"verified with the wrong key", func(t *testing.T, r *release, o *Options) {
			_, o.PublicKeyPEM = newKey(t)
		}, ErrWrongKey, []string{"signed with the wrong key", "trusted key is"}},
		{"signed with another key", func(t *testing.T, r *release, o *Options) {
			other, _ := newKey(t)
			b, _ := os.ReadFile(r.manifest)
			m, _ := ParseManifest(b)
			r.sign(t, m, other)
		}, ErrWrongKey, []string{"bundle was signed by key"}},
		{"signed with another key, hint stripped", func(t *testing.T, r *release, o *Options) {
			other, _ := newKey(t)
			b, _ := os.ReadFile(r.manifest)
			m, _ := ParseManifest(b)
			r.sign(t, m, other)
			editBundle(t, r.bundle, func(m map[string]any) {
				m["verificationMaterial"].(map[string]any)["publicKey"] = map[string]any{}
			})
		}, ErrBadSignature, []string{"bundle names no key"}},
		{"bundle missing", func(t *testing.T, r *release, o *Options) {
			_ = os.Remove(r.bundle)
		}, ErrBundleMissing, []string{"signature bundle missing", "is unsigned"}},
		{"manifest missing", func(t *testing.T, r *release, o *Options) {
			_ = os.Remove(r.manifest)
		}, ErrManifestMissing, []string{"manifest missing"}},
		{"both missing on a release build", func(t *testing.T, r *release, o *Options) {
			_ = os.Remove(r.manifest)
			_ = os.Remove(r.bundle)
		}, ErrNoManifest, []string{"no release manifest found"}},
		{"invalid trusted key", func(t *testing.T, r *release, o *Options) {
			o.PublicKeyPEM = []byte("not a key")
		}, ErrPublicKey, nil},
		{"symlink escaping the root", func(t *testing.T, r *release, o *Options) {
			outside := filepath.Join(t.TempDir(), "LICENSE")
			b, _ := os.ReadFile(filepath.Join(r.root, "LICENSE"))
			writeFile(t, outside, b)
			_ = os.Remove(filepath.Join(r.root, "LICENSE"))
			if err := os.Symlink(outside, filepath.Join(r.root, "LICENSE")); err != nil {
				t.Fatal(err)
			}
		}, ErrFileUnreadable, []string{"file unreadable: LICENSE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelease(t)
			o := r.opts()
			tc.tamper(t, r, &o)
			rep, err := Verify(o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if rep.Status != StatusFailed || !errors.Is(rep.Err, tc.want) {
				t.Fatalf("report %+v", rep)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "integrity: ") {
				t.Fatalf("error is not one prefixed line: %q", msg)
			}
			for _, m := range tc.message {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q lacks %q", msg, m)
				}
			}
			// The same failure in warn mode is logged and let through.
			o.Mode = ModeWarn
			rep, err = Verify(o)
			if err != nil || rep.Status != StatusWarning || !errors.Is(rep.Err, tc.want) {
				t.Fatalf("warn mode: err=%v report=%+v", err, rep)
			}
		})
	}
}

func TestVerifyFileResults(t *testing.T) {
	r := newRelease(t)
	flipByte(t, filepath.Join(r.root, "LICENSE"), 0)
	_ = os.Remove(filepath.Join(r.root, "ui", "index.html"))
	rep, _ := Verify(r.opts())
	got := map[string]string{}
	for _, f := range rep.Files {
		got[f.Path] = f.Status
	}
	want := map[string]string{"LICENSE": FileMismatch, "reticle": FileOK, "ui/index.html": FileMissing}
	for p, s := range want {
		if got[p] != s {
			t.Errorf("%s: got %q want %q", p, got[p], s)
		}
	}
}

func TestVerifyUnsignedDevelopmentBuild(t *testing.T) {
	_, pub := newKey(t)
	if hasSystemManifest() {
		t.Skip("a manifest is installed on this machine; the default search would find it")
	}
	for _, mode := range []Mode{ModeEnforce, ModeWarn} {
		rep, err := Verify(Options{Mode: mode, PublicKeyPEM: pub, DevBuild: true})
		if err != nil || rep.Status != StatusUnsignedDev || !strings.Contains(rep.Message, "unsigned development build") {
			t.Fatalf("%s: err=%v report=%+v", mode, err, rep)
		}
	}
	rep, err := Verify(Options{Mode: ModeEnforce, PublicKeyPEM: pub})
	if !errors.Is(err, ErrNoManifest) || rep.Status != StatusFailed {
		t.Fatalf("release build without manifest: err=%v report=%+v", err, rep)
	}
	rep, err = Verify(Options{Mode: ModeWarn, PublicKeyPEM: pub})
	if err != nil || rep.Status != StatusWarning {
		t.Fatalf("release build without manifest, warn: err=%v report=%+v", err, rep)
	}
	// A path given explicitly must exist, dev build or not.
	_, err = Verify(Options{Mode: ModeEnforce, PublicKeyPEM: pub, DevBuild: true, ManifestPath: filepath.Join(t.TempDir(), "m.json")})
	if !errors.Is(err, ErrNoManifest) {
		t.Fatalf("explicit missing manifest: %v", err)
	}
}

func TestVerifyModeOffAndInvalid(t *testing.T) {
	r := newRelease(t)
	flipByte(t, r.exe, 0)
	o := r.opts()
	o.Mode = ModeOff
	if rep, err := Verify(o); err != nil || rep.Status != StatusSkipped {
		t.Fatalf("off: err=%v report=%+v", err, rep)
	}
	o.Mode = "strict"
	if _, err := Verify(o); !errors.Is(err, ErrInvalidMode) {
		t.Fatalf("invalid mode: %v", err)
	}
}

func TestVerifyRunningExecutableByDefault(t *testing.T) {
	r := newRelease(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildManifest(r.root, []string{"LICENSE"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ExecutableEntry, exe); err != nil {
		t.Fatal(err)
	}
	r.sign(t, m, r.priv)
	o := r.opts()
	o.ExePath = "" // /proc/self/exe: this test binary
	if rep, err := Verify(o); err != nil || rep.Status != StatusVerified {
		t.Fatalf("err=%v report=%+v", err, rep)
	}
	// The file named reticle under the root is not what is checked.
	o.ExePath = r.exe
	if _, err := Verify(o); !errors.Is(err, ErrFileMismatch) {
		t.Fatalf("want mismatch for another executable, got %v", err)
	}
}

func TestVerifyDefaultRootIsManifestDir(t *testing.T) {
	r := newRelease(t)
	o := r.opts()
	o.Root = t.TempDir() // empty: every non-executable file is missing
	if _, err := Verify(o); !errors.Is(err, ErrFileMissing) {
		t.Fatalf("want ErrFileMissing with another root, got %v", err)
	}
}

func TestDefaultManifestPaths(t *testing.T) {
	ps := DefaultManifestPaths()
	if len(ps) == 0 || ps[len(ps)-1] != "/usr/share/reticle/manifest.json" {
		t.Fatalf("got %v", ps)
	}
	if len(ps) == 2 && !strings.HasSuffix(ps[0], filepath.Join("share", "reticle", "manifest.json")) {
		t.Fatalf("first candidate %q", ps[0])
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	k, _ := newKey(t)
	der, _ := x509MarshalPKCS8(t, k)
	if _, err := ParsePrivateKeyPEM(der); err != nil {
		t.Fatalf("PKCS8: %v", err)
	}
	if _, err := ParsePrivateKeyPEM([]byte("-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n")); !errors.Is(err, ErrPrivateKey) {
		t.Fatalf("RSA block: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := checkP256(p384); !errors.Is(err, ErrPrivateKey) {
		t.Fatalf("P-384 accepted: %v", err)
	}
}

func hasSystemManifest() bool {
	for _, p := range DefaultManifestPaths() {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
