// Package plugins is Reticle's plugin registry and sandbox: signed packages, a wazero runtime with no
// filesystem, network, environment or arguments, and host functions linked only for the capabilities the
// owner granted.
//
// # Package
//
// A plugin package is a zip file holding manifest.json ([Manifest], parsed strictly by [ParseManifest]),
// plugin.wasm and plugin.sig: an ed25519 signature by the publisher over [SignedBytes], that is
// "reticle-plugin-v1\x00" || sha256(manifest.json) || sha256(plugin.wasm). [Verify] checks the signature
// against the owner's trusted publisher keys before anything is compiled; an unsigned, tampered or
// foreign-key package is refused, and so is a version not newer than the installed one.
//
// # ABI version 1
//
// The guest exports on_message (capability messages.read) and/or serve_page (pages.serve), each taking
// no arguments and returning an i32 status (0 = ok). The guest pulls its input with reticle.input_len and
// reticle.input_read (JSON, see [Message] and [PageRequest]) and sets its result with
// reticle.output_write, so the host never allocates in, or trusts an allocator of, the guest. Further
// host functions exist per capability (see [Capabilities]); each validates every guest pointer and
// length against guest memory and returns a negative status ([StatusFault] ...) on bad input. A module
// importing a function of a capability it was not granted, or anything outside the "reticle" and
// "wasi_snapshot_preview1" modules, is refused at load with an error naming the function and the grant.
//
// # Limits
//
// Module size, memory pages, a per-call deadline (the instance is closed when it passes), concurrent
// calls, output size, sends per minute and a per-plugin kv quota; after MaxFailures consecutive failed
// calls the plugin is disabled. An instance whose call failed is closed and never reused. Compiled code
// is cached in memory only.
//
// It may import pkg/integrity and wazero; the store, the app and the web layer reach it through the
// interfaces it defines ([Records], [Host]), which cmd/reticle wires.
package plugins
