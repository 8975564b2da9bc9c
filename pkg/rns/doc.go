// Package rns assembles a Reticulum node: it loads or creates the transport
// identity in the data directory, builds the interfaces named by URIs
// (tcp-client://, tcp-server://, udp://, auto://, shared-instance://), wires them to
// the transport core, serves the shared-instance RPC endpoint when it offers
// a shared instance, and starts and stops everything in order.
//
// Imports: pkg/rns/iface, pkg/rns/shared, pkg/rns/transport, pkg/rns/identity,
// pkg/rns/wire and the standard library.
package rns
