package repo

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const regenerate = "the SBOM is stale: run `bash sbom/generate.sh` and commit sbom/reticle.cdx.json"

type cdxComponent struct {
	Type       string         `json:"type"`
	Group      string         `json:"group"`
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

type cdxBOM struct {
	BOMFormat  string         `json:"bomFormat"`
	Components []cdxComponent `json:"components"`
}

// sbomComponents returns the Go modules and npm packages listed in the SBOM as "name@version" sets.
func sbomComponents(t *testing.T, root string) (goMods, npm map[string]bool) {
	t.Helper()
	var bom cdxBOM
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, "sbom", "reticle.cdx.json"))), &bom); err != nil {
		t.Fatalf("sbom/reticle.cdx.json: %v (%s)", err, regenerate)
	}
	if bom.BOMFormat != "CycloneDX" {
		t.Fatalf("sbom/reticle.cdx.json: bomFormat %q, want CycloneDX", bom.BOMFormat)
	}
	goMods, npm = map[string]bool{}, map[string]bool{}
	var walk func([]cdxComponent)
	walk = func(cs []cdxComponent) {
		for _, c := range cs {
			switch {
			case strings.HasPrefix(c.PURL, "pkg:golang/std@"):
				// the standard library of the generating toolchain
			case strings.HasPrefix(c.PURL, "pkg:golang/"):
				goMods[c.Name+"@"+c.Version] = true
			case strings.HasPrefix(c.PURL, "pkg:npm/") && c.Type == "library":
				name := c.Name
				if c.Group != "" {
					name = c.Group + "/" + c.Name
				}
				npm[name+"@"+c.Version] = true
			}
			walk(c.Components)
		}
	}
	walk(bom.Components)
	return goMods, npm
}

var (
	requireBlock  = regexp.MustCompile(`(?ms)^require\s*\((.*?)^\)`)
	requireSingle = regexp.MustCompile(`(?m)^require\s+(\S+)\s+(\S+)`)
	requireEntry  = regexp.MustCompile(`(?m)^\s+(\S+)\s+(v\S+)`)
)

// goModRequires parses the require directives of a go.mod as "path@version".
func goModRequires(src string) []string {
	var out []string
	for _, b := range requireBlock.FindAllStringSubmatch(src, -1) {
		for _, m := range requireEntry.FindAllStringSubmatch(b[1], -1) {
			out = append(out, m[1]+"@"+m[2])
		}
	}
	for _, m := range requireSingle.FindAllStringSubmatch(src, -1) {
		if m[1] != "(" {
			out = append(out, m[1]+"@"+m[2])
		}
	}
	sort.Strings(out)
	return out
}

// goSumModules parses go.sum as the set of "path@version" it holds.
func goSumModules(src string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(src, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			out[f[0]+"@"+strings.TrimSuffix(f[1], "/go.mod")] = true
		}
	}
	return out
}

func TestGoModParser(t *testing.T) {
	src := "module x\n\ngo 1.26.0\n\nrequire a.io/b v1.0.0\n\nrequire (\n\tc.io/d v0.1.0 // indirect\n\te.io/f v2.0.0+incompatible\n)\n"
	got := strings.Join(goModRequires(src), " ")
	if want := "a.io/b@v1.0.0 c.io/d@v0.1.0 e.io/f@v2.0.0+incompatible"; got != want {
		t.Errorf("goModRequires = %q, want %q", got, want)
	}
	sum := goSumModules("a.io/b v1.0.0 h1:x=\na.io/b v1.0.0/go.mod h1:y=\ng.io/h v0.2.0/go.mod h1:z=\n")
	if !sum["a.io/b@v1.0.0"] || !sum["g.io/h@v0.2.0"] || len(sum) != 2 {
		t.Errorf("goSumModules = %v", sum)
	}
}

func TestSBOMMatchesGoMod(t *testing.T) {
	root := repoRoot(t)
	goMods, _ := sbomComponents(t, root)
	requires := goModRequires(readFile(t, filepath.Join(root, "go.mod")))
	if len(requires) == 0 {
		t.Fatal("go.mod has no require lines; the parser is broken")
	}
	for _, r := range requires {
		if !goMods[r] {
			t.Errorf("go.mod requires %s, which sbom/reticle.cdx.json does not list; %s", r, regenerate)
		}
	}
	reqSet := map[string]bool{}
	for _, r := range requires {
		reqSet[r] = true
	}
	sum := goSumModules(readFile(t, filepath.Join(root, "go.sum")))
	for m := range goMods {
		if !reqSet[m] && !sum[m] {
			t.Errorf("sbom/reticle.cdx.json lists %s, which is in neither go.mod nor go.sum; %s", m, regenerate)
		}
	}
}

// lockPackages returns the packages of an npm lockfile (v2/v3) as "name@version".
func lockPackages(t *testing.T, src []byte) map[string]bool {
	t.Helper()
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Link    bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(src, &lock); err != nil {
		t.Fatalf("ui/package-lock.json: %v", err)
	}
	if lock.LockfileVersion < 2 {
		t.Fatalf("ui/package-lock.json: lockfile version %d, want 2 or 3", lock.LockfileVersion)
	}
	out := map[string]bool{}
	for p, pkg := range lock.Packages {
		if p == "" || pkg.Link {
			continue
		}
		name := pkg.Name
		if name == "" {
			name = p[strings.LastIndex(p, "node_modules/")+len("node_modules/"):]
		}
		out[name+"@"+pkg.Version] = true
	}
	return out
}

func TestSBOMMatchesUILockfile(t *testing.T) {
	root := repoRoot(t)
	_, npm := sbomComponents(t, root)
	want := lockPackages(t, []byte(readFile(t, filepath.Join(root, "ui", "package-lock.json"))))
	if len(want) == 0 {
		t.Fatal("ui/package-lock.json lists no packages")
	}
	for p := range want {
		if !npm[p] {
			t.Errorf("ui/package-lock.json has %s, which sbom/reticle.cdx.json does not list; %s", p, regenerate)
		}
	}
	for p := range npm {
		if !want[p] {
			t.Errorf("sbom/reticle.cdx.json lists npm package %s, which ui/package-lock.json does not; %s", p, regenerate)
		}
	}
}
