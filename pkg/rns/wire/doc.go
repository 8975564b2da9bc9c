// Package wire holds the pure byte formats of Reticulum as the Python
// reference (RNS 1.5.7) puts them on the wire: sizes and limits, the packet
// header with its flags byte, packet hashes, the announce payload layout and
// the link-request helpers that only need bytes.
//
// Everything here is a pure function of its input: no goroutines, no I/O, no
// clocks, no randomness (callers pass time and random bytes in). Decoders
// check every length before slicing and return sentinel errors (ErrX) wrapped
// with context; bad input never panics.
//
// Cryptography (signatures, token encryption, interface access codes) lives
// in package identity, which imports this one.
//
// May import: the standard library only.
package wire
