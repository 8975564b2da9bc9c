// Package integrity checks that Reticle runs what was released and that its data was not altered while it
// was stopped.
//
// # Startup self-verification
//
// A release ships manifest.json (SHA-256 and size of the binary and every shipped file; see [Manifest])
// and manifest.json.sigstore.json, a Sigstore v0.3 bundle made by `cosign sign-blob --key` or by
// cmd/reticle-sign with the release key. [Verify] checks the bundle offline against the embedded
// cosign.pub (no transparency log, no timestamps), then every listed file. The entry named
// [ExecutableEntry] ("reticle") is checked against the running executable (/proc/self/exe); the other
// entries are files under the root, which defaults to the manifest's directory, and may not lead
// outside it. The files are looked for in ../share/reticle/ next to the executable, then in
// /usr/share/reticle/ (the image puts them there), unless a path is given.
//
// Modes: enforce makes any failure an error (the caller refuses to start, printing the one-line error);
// warn logs it and carries on; off skips the check.
//
// Builds without a manifest: a development build (the caller says so, from buildinfo) with neither
// manifest nor bundle is an "unsigned development build" in every mode, so `go run` works. A release
// build (a version stamped in) without them fails in enforce mode: stripping the manifest must not be a
// way around the check. A manifest without its bundle, or a path given explicitly that does not exist,
// always fails.
//
// # At rest
//
// [Open] compares the identity files (identities/, recursively, symlinks recorded as such) and
// reticle.db with the hashes recorded at the last clean shutdown ([AtRest.RecordCleanShutdown]) and
// reports first-run, ok, changed, unclean (the last run crashed: nothing to compare, not tampering) or
// unknown (integrity.json corrupt, or missing while identity files exist). In enforce mode, identity files modified or added while Reticle was
// stopped stop the start until the owner runs [Acknowledge] (`reticle verify --ack-at-rest`); a changed
// database or a removed identity only warns.
//
// integrity.json alone can be deleted or edited, so [AtRest.CheckRecord] also compares the identity key
// files with a second record kept by a [RecordStore] (the database): each entry an HMAC-SHA256 under a
// key HKDF-derived from the key file itself. It runs whatever integrity.json said and adds the states
// tampered (a file differs from its entry) and no-record (identity files that neither a clean
// integrity.json nor the record vouch for); enforce refuses both. [AtRest.Seal] vouches for new
// identities, [AtRest.SealAccepting] records them at a clean stop, [SealRecord] after an acknowledgement.
// Identity and state files are never read through a symlink.
//
// It imports the standard library and sigstore-go (with the sigstore modules it brings); it knows
// nothing else of Reticle. Callers pass in whether this is a development build.
package integrity
