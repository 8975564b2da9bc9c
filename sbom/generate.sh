#!/usr/bin/env bash
# Regenerates sbom/reticle.cdx.json: the CycloneDX SBOM of the Go module graph (cyclonedx-gomod v1.10.0
# from the tools module, test dependencies and the standard library included) merged with the UI's npm
# graph from ui/package-lock.json (tools/sbommerge). Offline once the module cache is warm; deterministic
# (no serial number, no timestamp, sorted output). Run after any change to go.mod, go.sum or
# ui/package-lock.json: test/repo fails while the SBOM is stale.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# -licenses prints a warning for every module whose licence it cannot detect (the main module included).
go -C "$repo/tools" tool cyclonedx-gomod mod -json -licenses -std -test -noserial -notimestamp \
	-type application -output "$tmp/go.cdx.json" "$repo" 2>"$tmp/gomod.log" || {
	cat "$tmp/gomod.log" >&2
	exit 1
}
go -C "$repo/tools" run ./sbommerge -go "$tmp/go.cdx.json" -lock "$repo/ui/package-lock.json" \
	-out "$repo/sbom/reticle.cdx.json"
echo "sbom: wrote sbom/reticle.cdx.json"
