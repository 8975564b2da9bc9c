package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword(testPassword, testHash)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	h2, _ := HashPassword(testPassword, testHash)
	if h == h2 {
		t.Fatal("two hashes of the same password are equal: salt missing")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{testPassword, true}, {testPassword + " ", false}, {"", false}, {strings.ToUpper(testPassword), false}} {
		ok, err := VerifyPassword(tc.pw, h)
		if err != nil || ok != tc.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
}

func TestDefaultHashParamsAreStrong(t *testing.T) {
	p := DefaultHashParams()
	if p.MemoryKiB < 19*1024 || p.Iterations < 2 || p.Threads < 1 {
		t.Fatalf("default argon2id params below OWASP minimum: %+v", p)
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ",
	} {
		if ok, err := VerifyPassword(testPassword, h); ok || !errors.Is(err, errBadHash) {
			t.Errorf("%q: ok=%v err=%v", h, ok, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"short", false}, {"elevenchars", false}, {"twelve chars", true},
		{"ääääääääääää", true}, {strings.Repeat("x", 1024), true}, {strings.Repeat("x", 1025), false},
	} {
		if err := CheckPasswordPolicy(tc.pw); (err == nil) != tc.ok {
			t.Errorf("policy(%d chars) = %v, want ok=%v", len(tc.pw), err, tc.ok)
		}
	}
}

// FuzzDecodeHash feeds arbitrary stored-hash strings to the decoder: it must never panic and must refuse
// parameters that would make verification expensive.
func FuzzDecodeHash(f *testing.F) {
	h, _ := HashPassword(testPassword, testHash)
	f.Add(h)
	f.Add("$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodeHash(s)
		if err != nil {
			return
		}
		if p.MemoryKiB == 0 || p.MemoryKiB > maxArgon2MemoryKiB || p.Iterations == 0 || p.Iterations > maxArgon2Iterations ||
			p.Threads == 0 || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
			t.Fatalf("accepted out-of-bounds hash %q: %+v", s, p)
		}
	})
}

func TestSetupCodeFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c, err := randomSetupCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 19 || strings.Count(c, "-") != 3 {
			t.Fatalf("code %q", c)
		}
		for _, r := range strings.ReplaceAll(c, "-", "") {
			if !strings.ContainsRune(setupAlphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", c, r)
			}
		}
		if seen[c] {
			t.Fatalf("repeated code %q", c)
		}
		seen[c] = true
		if normalizeSetupCode(strings.ToLower(strings.ReplaceAll(c, "-", " "))) != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("normalize %q", c)
		}
	}
}

// BenchmarkVerifyDefault measures one login's password check at the production parameters.
func BenchmarkVerifyDefault(b *testing.B) {
	h, err := HashPassword(testPassword, DefaultHashParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := VerifyPassword(testPassword, h); !ok {
			b.Fatal("mismatch")
		}
	}
}
