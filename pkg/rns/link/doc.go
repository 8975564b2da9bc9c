// Package link is the Reticulum link layer: the link handshake (request,
// proof, RTT), link encryption, keepalive and stale handling, teardown,
// identification, request/response, and resources (segmented transfers
// with hashmaps, windowing and size caps), byte-compatible with the Python
// reference (RNS/Link.py, RNS/Resource.py).
//
// It may import pkg/rns/transport, pkg/rns/identity and pkg/rns/wire
// (including the canonical codec pkg/rns/wire/msgpack) besides the
// standard library. A Manager attaches to a transport as its
// LinkHandler; time comes from an injected clock and all timeouts run from
// one job loop, so tests drive them with RunJobs.
package link
