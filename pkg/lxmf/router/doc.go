// Package router delivers LXMF messages over a Reticulum transport: it
// registers the lxmf.delivery destination of the local LXMF identity,
// announces it with the display name and stamp cost, records peers from
// lxmf.delivery announces, receives opportunistic messages and sends them
// from a persisted outbound queue as soon as they are queued, with path
// requests, delivery proofs, retries with backoff and a bounded total time.
//
// The router keeps no message state of its own beyond receipts in flight:
// the outbound queue is a Queue and received messages go to a Sink, both
// defined here and implemented by the application on top of its store.
// A received message is proven to its sender only after the Sink has stored
// it, so a delivery proof always means "persisted".
//
// Direct (link) and propagated delivery are not implemented yet; messages
// asking for them fail with ErrMethodUnavailable.
//
// Behaviour follows the Python reference LXMF 1.2.1 (LXMF/LXMRouter.py:
// register_delivery_identity, delivery_packet, lxmf_delivery,
// process_outbound), except that there is no 4 s outbound tick: a Wake
// starts a send at once.
//
// May import: pkg/lxmf, pkg/rns/transport, pkg/rns/identity, pkg/rns/wire(/msgpack)
// and the standard library.
package router
