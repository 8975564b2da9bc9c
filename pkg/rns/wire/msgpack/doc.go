// Package msgpack is the canonical, bounded msgpack codec of Reticulum and
// LXMF: it encodes byte for byte as the reference's packer
// (RNS/vendor/umsgpack.py, u-msgpack-python 2.7.1 in its default mode, as
// shipped with RNS 1.5.7) and decodes with the same acceptance rules under
// explicit size, depth and item limits. Canonical bytes matter because the
// reference hashes and signs packed bytes (LXMF messages, link requests and
// responses, resource advertisements).
//
// A decoded Value aliases its input and keeps map entries in wire order, as
// the reference's dicts keep insertion order; map keys follow Python's
// dictionary key equality (1, 1.0 and True are one key; str and bytes never
// equal each other). It starts no goroutines and holds no state.
//
// May import: the standard library.
package msgpack
