// Package rns assembles a Reticulum node: it loads or creates the transport
// identity in the data directory, builds the interfaces named by URIs
// (tcp-client://, tcp-server://), wires them to the transport core, and
// starts and stops everything in order.
//
// Imports: pkg/rns/iface, pkg/rns/transport, pkg/rns/identity,
// pkg/rns/wire and the standard library.
package rns
