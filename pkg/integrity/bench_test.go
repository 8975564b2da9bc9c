package integrity

import (
	"crypto/rand"
	"os"
	"testing"
)

// BenchmarkVerify measures a startup check of a release whose binary is 32 MiB (a realistic size for the
// static reticle binary): bundle verification plus hashing.
func BenchmarkVerify(b *testing.B) {
	r := newRelease(b)
	big := make([]byte, 32<<20)
	_, _ = rand.Read(big)
	if err := os.WriteFile(r.exe, big, 0o644); err != nil {
		b.Fatal(err)
	}
	m, err := BuildManifest(r.root, []string{"reticle", "LICENSE", "ui/index.html"})
	if err != nil {
		b.Fatal(err)
	}
	r.sign(b, m, r.priv)
	o := r.opts()
	b.SetBytes(int64(len(big)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Verify(o); err != nil {
			b.Fatal(err)
		}
	}
}
