// Package shared serves the control side of a Reticulum shared instance:
// the RPC endpoint that the reference's tools (rnstatus, rnpath, and every
// program attached to a shared instance through RNS/Reticulum.py) query for
// interface statistics, the path table and per-packet timeouts.
//
// The endpoint speaks Python's multiprocessing.connection protocol as the
// reference uses it (Listener/Client with an authkey): 4-byte big-endian
// length-prefixed messages, a mutual HMAC challenge (legacy HMAC-MD5 of
// Python up to 3.11 and the "{sha256}"-prefixed form of 3.12 and later, both
// directions), then one msgpack request and one msgpack response per
// connection. The authkey defaults, as in the reference, to the SHA-256 of
// the transport identity's private key; Python tools need it as the rpc_key
// of their config, which ClientConfig writes.
//
// The data interface of the shared instance (HDLC over an abstract Unix
// socket or TCP) lives in pkg/rns/iface (iface.Shared).
//
// Imports: pkg/rns/iface, pkg/rns/transport, pkg/rns/identity, pkg/rns/wire
// (and wire/msgpack) and the standard library.
package shared
