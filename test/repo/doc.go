// Package repo holds tests about the repository itself rather than about code: GitHub workflows pin
// every third-party action by commit SHA and declare read-only default permissions, the committed SBOM
// (sbom/reticle.cdx.json) matches go.mod, go.sum and ui/package-lock.json, and the Dockerfile keeps the
// image's hardening (USER 65532, HEALTHCHECK, digest-pinned bases, no latest tag).
//
// It has no code of its own and imports nothing from the module; its tests use only the standard library.
package repo
