// Command sbommerge adds the UI's npm dependency graph, read from ui/package-lock.json (lockfile v2 or v3),
// to the CycloneDX JSON SBOM that cyclonedx-gomod wrote for the Go module, so sbom/reticle.cdx.json
// describes both. It works offline and is deterministic: components and dependencies are sorted, and
// every JSON object is written with sorted keys.
//
// Usage: go run ./sbommerge -go go.cdx.json -lock ../ui/package-lock.json -out ../sbom/reticle.cdx.json
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
)

// lockPackage is one entry of package-lock.json's "packages" map.
type lockPackage struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Integrity            string            `json:"integrity"`
	License              any               `json:"license"`
	Dev                  bool              `json:"dev"`
	Optional             bool              `json:"optional"`
	Link                 bool              `json:"link"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

type lockfile struct {
	LockfileVersion int                    `json:"lockfileVersion"`
	Packages        map[string]lockPackage `json:"packages"`
}

func main() {
	goPath := flag.String("go", "", "CycloneDX JSON written by cyclonedx-gomod")
	lockPath := flag.String("lock", "", "ui/package-lock.json")
	outPath := flag.String("out", "", "merged SBOM to write")
	flag.Parse()
	if *goPath == "" || *lockPath == "" || *outPath == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*goPath, *lockPath, *outPath); err != nil {
		fmt.Fprintln(os.Stderr, "sbommerge:", err)
		os.Exit(1)
	}
}

func run(goPath, lockPath, outPath string) error {
	var bom map[string]any
	if err := readJSON(goPath, &bom); err != nil {
		return err
	}
	var lock lockfile
	if err := readJSON(lockPath, &lock); err != nil {
		return err
	}
	if lock.LockfileVersion < 2 {
		return fmt.Errorf("%s: lockfile version %d has no packages map (want 2 or 3)", lockPath, lock.LockfileVersion)
	}
	root, ok := lock.Packages[""]
	if !ok || root.Name == "" {
		return fmt.Errorf("%s: no root package", lockPath)
	}

	refs := map[string]string{} // lockfile path -> bom-ref (purl)
	comps := map[string]map[string]any{}
	for p, pkg := range lock.Packages {
		if p == "" || pkg.Link {
			continue
		}
		name := pkg.Name
		if name == "" {
			name = packageName(p)
		}
		if pkg.Version == "" {
			return fmt.Errorf("%s: %s has no version", lockPath, p)
		}
		ref := purl(name, pkg.Version)
		refs[p] = ref
		if _, dup := comps[ref]; dup {
			continue
		}
		comps[ref] = component(name, pkg)
	}

	deps := map[string]map[string]bool{}
	for p, pkg := range lock.Packages {
		if pkg.Link {
			continue
		}
		from := refs[p]
		if p == "" {
			from = purl(root.Name, root.Version)
		}
		set := deps[from]
		if set == nil {
			set = map[string]bool{}
			deps[from] = set
		}
		for _, m := range []map[string]string{pkg.Dependencies, pkg.DevDependencies, pkg.OptionalDependencies, pkg.PeerDependencies} {
			for d := range m {
				if target, ok := resolve(lock.Packages, p, d); ok {
					set[refs[target]] = true
				}
			}
		}
	}

	uiRef := purl(root.Name, root.Version)
	ui := map[string]any{
		"type": "application", "name": root.Name, "version": root.Version, "bom-ref": uiRef, "purl": uiRef,
		"description": "Reticle web UI (ui/), built into ui/dist and embedded in the binary",
	}
	components, _ := bom["components"].([]any)
	components = append(components, ui)
	for _, ref := range sortedKeys(comps) {
		components = append(components, comps[ref])
	}
	bom["components"] = components

	dependencies, _ := bom["dependencies"].([]any)
	if meta, ok := bom["metadata"].(map[string]any); ok {
		if mc, ok := meta["component"].(map[string]any); ok {
			mainRef, _ := mc["bom-ref"].(string)
			dependencies = addDependency(dependencies, mainRef, uiRef)
		}
	}
	for _, from := range sortedKeys(deps) {
		on := sortedKeys(deps[from])
		list := make([]any, len(on))
		for i, r := range on {
			list[i] = r
		}
		dependencies = append(dependencies, map[string]any{"ref": from, "dependsOn": list})
	}
	bom["dependencies"] = dependencies

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bom); err != nil {
		return fmt.Errorf("encode sbom: %w", err)
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil { //nolint:gosec // G306: the SBOM is a public release file
		return fmt.Errorf("write sbom: %w", err)
	}
	return nil
}

func readJSON(p string, v any) error {
	b, err := os.ReadFile(p) //nolint:gosec // G304: input SBOMs named on the command line
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// packageName returns the package name of a lockfile path such as node_modules/a/node_modules/@s/b.
func packageName(p string) string {
	i := strings.LastIndex(p, "node_modules/")
	if i < 0 {
		return p
	}
	return p[i+len("node_modules/"):]
}

// resolve finds the lockfile path that Node's module resolution picks for dependency name d of the
// package at path p: p/node_modules/d, then the same in every ancestor package, then the top level.
func resolve(pkgs map[string]lockPackage, p, d string) (string, bool) {
	dir := p
	for {
		cand := path.Join(dir, "node_modules", d)
		if dir == "" {
			cand = "node_modules/" + d
		}
		if pkg, ok := pkgs[cand]; ok && !pkg.Link {
			return cand, true
		}
		if dir == "" {
			return "", false
		}
		i := strings.LastIndex(dir, "/node_modules/")
		if i < 0 {
			dir = ""
		} else {
			dir = dir[:i]
		}
	}
}

// purl is the package URL of an npm package; a scope's @ is percent-encoded as the purl spec requires.
func purl(name, version string) string {
	if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		return "pkg:npm/%40" + url.PathEscape(scope[1:]) + "/" + url.PathEscape(rest) + "@" + url.PathEscape(version)
	}
	return "pkg:npm/" + url.PathEscape(name) + "@" + url.PathEscape(version)
}

func component(name string, pkg lockPackage) map[string]any {
	ref := purl(name, pkg.Version)
	c := map[string]any{"type": "library", "name": name, "version": pkg.Version, "bom-ref": ref, "purl": ref}
	if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		c["group"], c["name"] = scope, rest
	}
	if h, err := integrityHash(pkg.Integrity); err == nil && h != nil {
		c["hashes"] = []any{h}
	}
	if lic, ok := pkg.License.(string); ok && lic != "" {
		switch {
		case strings.Contains(lic, " OR ") || strings.Contains(lic, " AND ") || strings.HasPrefix(lic, "("):
			c["licenses"] = []any{map[string]any{"expression": lic}}
		case strings.ContainsAny(lic, " /:"):
			c["licenses"] = []any{map[string]any{"license": map[string]any{"name": lic}}}
		default:
			c["licenses"] = []any{map[string]any{"license": map[string]any{"id": lic}}}
		}
	}
	var props []any
	if pkg.Dev {
		props = append(props, map[string]any{"name": "cdx:npm:package:development", "value": "true"})
	}
	if pkg.Optional {
		props = append(props, map[string]any{"name": "cdx:npm:package:optional", "value": "true"})
	}
	if len(props) > 0 {
		c["properties"] = props
	}
	return c
}

// integrityHash turns an SRI string (sha512-<base64>) into a CycloneDX hash; nil when there is none.
func integrityHash(sri string) (map[string]any, error) {
	if sri == "" {
		return nil, nil
	}
	first, _, _ := strings.Cut(sri, " ")
	alg, b64, ok := strings.Cut(first, "-")
	if !ok {
		return nil, errors.New("malformed integrity")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	names := map[string]string{"sha512": "SHA-512", "sha384": "SHA-384", "sha256": "SHA-256", "sha1": "SHA-1"}
	n, ok := names[alg]
	if !ok {
		return nil, fmt.Errorf("integrity: unknown algorithm %q", alg)
	}
	return map[string]any{"alg": n, "content": hex.EncodeToString(raw)}, nil
}

func addDependency(deps []any, from, to string) []any {
	for _, d := range deps {
		m, ok := d.(map[string]any)
		if !ok || m["ref"] != from {
			continue
		}
		on, _ := m["dependsOn"].([]any)
		m["dependsOn"] = append(on, to)
		return deps
	}
	return append(deps, map[string]any{"ref": from, "dependsOn": []any{to}})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
