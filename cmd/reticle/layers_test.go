package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/reticle-mesh/reticle"

// allowedImports is the package table of DESIGN.md: for each package, the module packages it may import.
// A trailing "/*" allows a whole subtree. Packages not listed (cmd/..., test/..., tools) may import
// anything.
var allowedImports = map[string][]string{
	"pkg/buildinfo":        {},
	"pkg/config":           {},
	"pkg/logring":          {},
	"pkg/rns/iface":        {},
	"pkg/rns/wire":         {},
	"pkg/rns/wire/msgpack": {}, // a byte format of the wire layer: importable wherever pkg/rns/wire is
	"pkg/rns/shared":       {"pkg/rns/iface", "pkg/rns/transport", "pkg/rns/identity", "pkg/rns/wire"},
	"pkg/rns/identity":     {"pkg/rns/wire"},
	"pkg/rns/transport":    {"pkg/rns/iface", "pkg/rns/wire", "pkg/rns/identity"},
	"pkg/rns/link":         {"pkg/rns/transport", "pkg/rns/identity", "pkg/rns/wire"},
	"pkg/rns":              {"pkg/rns/*"},
	"pkg/lxmf":             {"pkg/rns/identity", "pkg/rns/wire"},
	"pkg/lxmf/router":      {"pkg/lxmf", "pkg/rns", "pkg/rns/*"},
	"pkg/lxmf/propnode":    {"pkg/lxmf", "pkg/lxmf/router", "pkg/rns", "pkg/rns/*"},
	"pkg/nomadnet":         {"pkg/rns", "pkg/rns/*"},
	"pkg/nomadnet/micron":  {},
	"pkg/store":            {},
	"pkg/auth":             {"pkg/store"},
	"pkg/integrity":        {"pkg/buildinfo"},
	"pkg/backup":           {"pkg/store"},
	"pkg/plugins":          {"pkg/integrity"},
	"pkg/app":              {"pkg/lxmf", "pkg/lxmf/*", "pkg/nomadnet", "pkg/nomadnet/*", "pkg/rns", "pkg/rns/*", "pkg/store"},
	"pkg/web":              {"pkg/app", "pkg/auth", "pkg/integrity", "pkg/plugins", "pkg/buildinfo", "pkg/logring", "ui", "pkg/nomadnet/micron"},
	"ui":                   {},
	"":                     {}, // the root package only embeds cosign.pub
}

// thirdPartyOwners: an import path prefix that only the named packages may import directly.
var thirdPartyOwners = map[string][]string{
	"gorm.io/":                      {"pkg/store"},
	"github.com/glebarez/":          {"pkg/store"},
	"github.com/labstack/echo":      {"pkg/web"},
	"github.com/sigstore/":          {"pkg/integrity", "cmd/reticle-sign"},
	"github.com/tetratelabs/wazero": {"pkg/plugins"},
	"github.com/jackc/pgx":          {"pkg/store", "pkg/testkit"},
}

type goPackage struct {
	ImportPath  string
	Imports     []string
	TestImports []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r, true
	}
	return "", false
}

func allowed(rules []string, dep string) bool {
	if dep == "pkg/rns/wire/msgpack" {
		dep = "pkg/rns/wire"
	}
	for _, r := range rules {
		if r == dep || (strings.HasSuffix(r, "/*") && strings.HasPrefix(dep, strings.TrimSuffix(r, "*"))) {
			return true
		}
	}
	return false
}

// TestImportLayers fails on any import edge DESIGN.md does not allow, so the layering cannot rot.
func TestImportLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		name, _ := rel(p.ImportPath)
		rules, constrained := allowedImports[name]
		if !constrained && strings.HasPrefix(name, "pkg/") && name != "pkg/testkit" {
			t.Errorf("package %s is not in DESIGN.md's table: add it there and here", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, internal := rel(imp)
			if internal {
				if dep == "pkg/testkit" {
					t.Errorf("%s imports pkg/testkit outside tests", name)
				}
				if strings.HasPrefix(name, "pkg/") || name == "ui" {
					if strings.HasPrefix(dep, "cmd/") || dep == "pkg/web" && name != "pkg/web" {
						t.Errorf("%s imports %s (upward)", name, dep)
					}
				}
				if constrained && !allowed(rules, dep) {
					t.Errorf("%s may not import %s (see DESIGN.md)", name, dep)
				}
				continue
			}
			for prefix, owners := range thirdPartyOwners {
				if strings.HasPrefix(imp, prefix) && !allowed(owners, name) {
					t.Errorf("%s imports %s; only %v may", name, imp, owners)
				}
			}
		}
	}
}
