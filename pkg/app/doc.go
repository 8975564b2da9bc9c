// Package app holds Reticle's use cases for messaging: send a message,
// list messages and peers, show the own LXMF address, announce. It persists
// before any network I/O (a message the user sent is in the store, queued,
// before the router is woken), implements the router's Queue and Sink on top
// of pkg/store, and publishes events to subscribers (the future websocket
// hub) through a bounded, drop-oldest broker.
//
// Lifecycle: store.Open -> rns.New -> link.New (optional, for direct
// delivery) -> app.New -> node.Start -> links.Start -> app.Start, and Close
// in reverse (app.Close, links.Close, node.Close, store.Close).
//
// May import: pkg/lxmf, pkg/lxmf/router, pkg/rns (and rns/*), pkg/store and
// the standard library.
package app
