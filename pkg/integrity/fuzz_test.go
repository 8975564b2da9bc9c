package integrity

import (
	"context"
	"errors"
	"testing"
)

// FuzzVerifyBundle feeds arbitrary bundles to the verifier: it must never panic, and every failure must
// be one of the documented errors.
func FuzzVerifyBundle(f *testing.F) {
	k, pub := newKeyF(f)
	data := []byte(`{"version":1,"files":[]}`)
	good, err := SignBundle(context.Background(), data, k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := VerifyBundle(data, b, pub)
		if err == nil {
			return
		}
		for _, s := range []error{ErrBundleMalformed, ErrWrongKey, ErrBadSignature, ErrManifestTampered} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("undocumented error: %v", err)
	})
}
