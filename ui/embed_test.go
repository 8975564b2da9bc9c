package ui_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/reticle-mesh/reticle/ui"
)

func readIndex(t *testing.T) string {
	t.Helper()
	b, err := fs.ReadFile(ui.FS(), "index.html")
	if err != nil {
		t.Fatalf("read index.html from ui.FS(): %v (run `npm ci && npm run build` in ui/)", err)
	}
	return string(b)
}

func TestFSHasIndex(t *testing.T) {
	html := readIndex(t)
	if !strings.Contains(html, `<div id="app">`) {
		t.Fatalf("index.html has no app mount point:\n%s", html)
	}
	if _, err := fs.Stat(ui.FS(), "favicon.svg"); err != nil {
		t.Fatalf("favicon.svg: %v", err)
	}
}

// The UI is served under a CSP without 'unsafe-inline': every script and
// stylesheet must be an external file, and every one referenced must exist.
func TestIndexIsCSPClean(t *testing.T) {
	html := readIndex(t)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`), // script with inline body
		regexp.MustCompile(`(?i)<style[\s>]`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`), // inline event handlers
		regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`),
		regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"data:`),
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("index.html violates the CSP rules (%s): %q", bad, m)
		}
	}

	refs := regexp.MustCompile(`(?:src|href)="/([^"]+)"`).FindAllStringSubmatch(html, -1)
	var scripts, styles int
	for _, m := range refs {
		name := m[1]
		if _, err := fs.Stat(ui.FS(), name); err != nil {
			t.Errorf("index.html references /%s, which is not embedded: %v", name, err)
		}
		switch {
		case strings.HasPrefix(name, "assets/") && strings.HasSuffix(name, ".js"):
			scripts++
		case strings.HasPrefix(name, "assets/") && strings.HasSuffix(name, ".css"):
			styles++
		}
	}
	if scripts == 0 || styles == 0 {
		t.Errorf("index.html should load hashed JS and CSS from /assets/, found %d scripts and %d stylesheets", scripts, styles)
	}
}
