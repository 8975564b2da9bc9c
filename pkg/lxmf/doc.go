// Package lxmf is the pure LXMF layer: the message codec, signatures, stamps,
// tickets, fields and announce app data, byte for byte as the Python
// reference LXMF 1.2.1 (on RNS 1.5.7) makes them. It does no networking and
// starts no goroutines; delivery, retries and queues live in lxmf/router.
//
// What it holds:
//   - wire forms built with the shared canonical msgpack codec
//     pkg/rns/wire/msgpack (LXMessage payloads are hashed and signed over
//     packed bytes, so canonical bytes matter); ErrMsgpack and ErrLimit are
//     that codec's sentinels;
//   - Message: Pack (sign), Unpack, Verify, message ids, the opportunistic,
//     direct, propagated and paper wire forms (LXMF/LXMessage.py);
//   - proof-of-work stamps, propagation stamps, peering keys and ticket
//     stamps (LXMF/LXStamper.py, LXMessage.validate_stamp/get_stamp);
//   - field ids and typed helpers for attachments, images and audio
//     (LXMF/LXMF.py);
//   - delivery and propagation node announce app data (LXMRouter
//     get_announce_app_data, get_propagation_node_app_data, and the parsing
//     helpers in LXMF/LXMF.py).
//
// May import: the standard library, pkg/rns/identity, pkg/rns/wire,
// pkg/rns/wire/msgpack.
package lxmf
