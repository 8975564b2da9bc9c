// Package transport is the Reticulum routing core: it receives frames from
// interfaces, decodes and de-duplicates packets, learns paths from
// announces, answers and sends path requests, rebroadcasts announces (in
// transport mode) under per-interface bandwidth caps, rate limits and
// ingress control, forwards HEADER_2 packets and their proofs, delivers
// packets for locally registered SINGLE destinations decrypted, proves them,
// and tracks receipts of sent packets until they are proven or time out.
// GROUP destinations (shared symmetric key) and PLAIN ones (unencrypted)
// are registered, delivered and broadcast as the reference does (group.go).
//
// Local destinations may keep a ratchet ring (ratchets.go): rotated on
// announce, announced, persisted signed in a file of our own, and used to
// decrypt. The rules of a shared instance, serving local programs or
// attached to another program's instance, follow the reference
// (shared.go). Known destinations and the path table can be saved and
// restored across restarts (persist.go).
//
// The behaviour follows the Python reference's RNS/Transport.py (inbound,
// outbound, jobs, path_request), RNS/Interfaces/Interface.py (ingress
// control) and RNS/Packet.py (receipts and proofs). All timing goes through
// an injected Clock, so tests drive it without sleeping.
//
// Upward events use the callbacks declared here (DestinationConfig, the
// announce handlers, Receipt). Link-layer packets (LINK destinations, link
// requests) are forwarded in transport mode and otherwise handed to a
// LinkHandler when one is set.
//
// Imports: pkg/rns/iface, pkg/rns/wire, pkg/rns/identity and the standard
// library.
package transport
