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
// A message is proven to its sender only after the Sink has stored it, so a
// delivery proof means "persisted": opportunistic packets through the
// transport's app-proof strategy, direct link packets and resources through
// the link layer's Confirm and ConfirmResource hooks.
//
// Direct delivery runs over links when Options.Links (a link.Manager shared
// with the node) is set: messages travel as one link packet when they fit,
// else as a resource, and the packet's or resource's proof marks them
// delivered; idle links the router opened close after LinkIdle. Propagated
// delivery (also over Options.Links) encrypts a message for its recipient,
// stamps it to the chosen propagation node's cost and uploads it
// (SetPropagationNode); the node's proof makes it sent, its final state, as
// in the reference. Without a link manager, direct and propagated messages
// fail with ErrMethodUnavailable. DeliverPropagated takes messages a sync
// downloaded from a node.
//
// Behaviour follows the Python reference LXMF 1.2.1 (LXMF/LXMRouter.py:
// register_delivery_identity, delivery_packet, lxmf_delivery,
// process_outbound), except that there is no 4 s outbound tick: a Wake
// starts a send at once.
//
// May import: pkg/lxmf, pkg/rns/transport, pkg/rns/link, pkg/rns/identity,
// pkg/rns/wire(/msgpack) and the standard library.
package router
