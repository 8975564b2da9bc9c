package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot returns the repository root (two levels up from test/repo) after checking its go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if !strings.Contains(string(b), "module github.com/reticle-mesh/reticle\n") {
		t.Fatalf("%s/go.mod is not the reticle module", root)
	}
	return root
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(.*)$`)
	sha40    = regexp.MustCompile(`^[0-9a-f]{40}$`)
	semver   = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
	// versionComment is the "# v1.2.3" that follows a SHA so that humans and Dependabot see the version.
	versionComment = regexp.MustCompile(`^#\s*v\d+(\.\d+){0,2}\b`)
)

// slsaContainerGenerator is the one documented exception to SHA pinning. The SLSA generator's reusable
// workflows must be referenced by a full tag @vX.Y.Z: they read their own ref to find and verify their
// builder, and fail when referenced by a hash ("Referencing the SLSA generator" in
// internal/builders/container/README.md of slsa-framework/slsa-github-generator).
const slsaContainerGenerator = "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml"

// checkUses returns why the value of a `uses:` key (with its trailing comment) is not acceptably pinned,
// or "" when it is.
func checkUses(value string) string {
	ref, comment, _ := strings.Cut(value, "#")
	ref = strings.Trim(strings.TrimSpace(ref), `"'`)
	comment = "#" + comment
	switch {
	case ref == "":
		return "empty uses"
	case strings.HasPrefix(ref, "./"):
		return "" // an action or workflow of this repository
	case strings.HasPrefix(ref, "docker://"):
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(ref) {
			return "docker action not pinned by @sha256 digest"
		}
		return ""
	}
	name, version, ok := strings.Cut(ref, "@")
	if !ok {
		return "no @ref"
	}
	if name == slsaContainerGenerator {
		if !semver.MatchString(version) {
			return "the SLSA generator must be referenced by a full tag @vX.Y.Z"
		}
		return ""
	}
	if !sha40.MatchString(version) {
		return fmt.Sprintf("ref %q is not a 40-hex commit SHA", version)
	}
	if !versionComment.MatchString(strings.TrimSpace(comment)) {
		return "SHA without a trailing version comment (# vX.Y.Z)"
	}
	return ""
}

func TestCheckUses(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", true},
		{"'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1' # v7.0.1", true},
		{"./.github/actions/setup", true},
		{"actions/checkout@v7.0.1", false},
		{"actions/checkout@v7", false},
		{"actions/checkout@main", false},
		{"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", false},
		{"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b # v7.0.1", false},
		{"actions/checkout", false},
		{"docker://alpine:3", false},
		{"docker://alpine@sha256:" + strings.Repeat("a", 64), true},
		{slsaContainerGenerator + "@v2.1.0", true},
		{slsaContainerGenerator + "@v2", false},
		{slsaContainerGenerator + "@f7dd8c54c2067bafc12ca7a55595d5ee9b75204a", false},
		{"slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@v2.1.0", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := checkUses(tc.in); (got == "") != tc.ok {
				t.Errorf("checkUses(%q) = %q, want ok=%v", tc.in, got, tc.ok)
			}
		})
	}
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
	return files
}

func TestWorkflowActionsPinnedBySHA(t *testing.T) {
	n := 0
	for _, f := range workflowFiles(t) {
		for i, line := range strings.Split(readFile(t, f), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n++
			if why := checkUses(m[1]); why != "" {
				t.Errorf("%s:%d: %s: %s", filepath.Base(f), i+1, strings.TrimSpace(m[1]), why)
			}
		}
	}
	if n == 0 {
		t.Error("no uses: lines found; the parser is broken or the workflows use no actions")
	}
}

// topLevelPermissions returns the top-level permissions block of a workflow ("" when absent).
func topLevelPermissions(src string) (string, bool) {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, "permissions:")
		if !ok {
			continue
		}
		block := strings.TrimSpace(v)
		for _, next := range lines[i+1:] {
			if next == "" || strings.HasPrefix(next, " ") || strings.HasPrefix(next, "#") {
				block += "\n" + next
				continue
			}
			break
		}
		return block, true
	}
	return "", false
}

func TestWorkflowsDeclareReadOnlyTopLevelPermissions(t *testing.T) {
	for _, f := range workflowFiles(t) {
		block, ok := topLevelPermissions(readFile(t, f))
		if !ok {
			t.Errorf("%s: no top-level permissions (set read-all or contents: read; grant more per job)", filepath.Base(f))
			continue
		}
		for _, l := range strings.Split(block, "\n") {
			l, _, _ = strings.Cut(l, "#")
			if strings.Contains(l, "write") {
				t.Errorf("%s: top-level permissions grant write (%q); grant it per job", filepath.Base(f), strings.TrimSpace(l))
			}
		}
	}
}

func TestTopLevelPermissionsParser(t *testing.T) {
	if _, ok := topLevelPermissions("on: push\njobs:\n  a:\n    permissions:\n      contents: read\n"); ok {
		t.Error("a job-level permissions block was taken for the top-level one")
	}
	block, ok := topLevelPermissions("on: push\npermissions:\n  contents: write\njobs: {}\n")
	if !ok || !strings.Contains(block, "contents: write") || strings.Contains(block, "jobs") {
		t.Errorf("top-level block = %q, %v", block, ok)
	}
}
