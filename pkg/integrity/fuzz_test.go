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

// FuzzCheckRecord feeds arbitrary database records to CheckRecord: it must never panic, a record that
// does not vouch for the identity file must refuse in enforce, and only a genuine entry passes.
func FuzzCheckRecord(f *testing.F) {
	key := make([]byte, 64)
	good, err := entryFor("identities/lxmf", key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"version":1,"files":{"identities/lxmf":{"sha256":"` + good.SHA256 + `","mac":"` + good.MAC + `"}}}`))
	f.Add([]byte(`{"version":1,"files":{"identities/lxmf":{"sha256":"` + good.SHA256 + `","mac":"00"}}}`))
	f.Add([]byte(`{"version":1,"files":{"../x":{}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		writeFile(t, dir+"/"+IdentitiesDir+"/lxmf", key)
		a, err := Open(dir, AtRestOptions{Mode: ModeEnforce})
		if err != nil {
			t.Fatal(err)
		}
		err = a.CheckRecord(context.Background(), &memRecords{b: b})
		if err == nil {
			rec, perr := parseRecord(b)
			if perr != nil || rec.Files["identities/lxmf"] != good {
				t.Fatalf("accepted a record that does not vouch for the key: %q", b)
			}
			return
		}
		if !errors.Is(err, ErrAtRestChanged) && !errors.Is(err, ErrAtRestNoRecord) {
			t.Fatalf("undocumented error: %v", err)
		}
	})
}
