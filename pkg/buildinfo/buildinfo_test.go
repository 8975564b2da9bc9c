package buildinfo

import (
	"strings"
	"testing"
)

func TestGetDefaultsAreDev(t *testing.T) {
	in := Get()
	if !in.Dev {
		t.Fatalf("default build should be a development build, got %+v", in)
	}
	if in.Commit == "" || in.Date == "" {
		t.Fatalf("commit and date must never be empty: %+v", in)
	}
	s := in.String()
	for _, want := range []string{"reticle dev", "commit ", "built "} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
}
