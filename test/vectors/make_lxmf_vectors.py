#!/usr/bin/env python3
"""Produce LXMF test vectors by running the Python reference.

Pinned reference: lxmf==1.2.1 on rns==1.5.7 (pip install rns==1.5.7 lxmf==1.2.1). The script refuses other
versions unless --any-version is given.

Output: one JSON document on stdout, committed as pkg/lxmf/testdata/lxmf-1.2.1-vectors.json. Keys:

  identities        64-byte private keys (derived from fixed labels, test-only), public keys, hashes,
                    lxmf.delivery destination hashes
  messages          LXMessage.pack with a fixed timestamp: the fields as packed msgpack, the full packed
                    message (direct form; the opportunistic form is the same without the first 16 bytes),
                    message id, signature, and the method and representation pack() chose. Exact.
  stamped           messages packed with a proof-of-work stamp (cost 8) or a ticket stamp; the stamp,
                    its value, and the packed bytes. Exact (the stamp is random but the bytes are given).
  propagated        LXMessage.pack for the PROPAGATED and PAPER methods: encryption is random, so these
                    are decode-only (decrypt with the destination's private key, check the inner message).
  workblocks        LXStamper.stamp_workblock digests, stamp values and validity at several costs. Exact.
  peering_keys      LXStamper peering keys (25 expand rounds) with validate_peering_key results.
  delivery_app_data LXMRouter.get_announce_app_data for several display names and stamp costs. Exact.
  app_data_parse    LXMF.display_name_from_app_data, stamp_cost_from_app_data,
                    compression_support_from_app_data on app data variants (old and new formats).
  pn_app_data       propagation node announce app data: pn_announce_data_is_valid, pn_name_from_app_data,
                    pn_stamp_cost_from_app_data on variants, plus LXMRouter.get_propagation_node_app_data.
  unpack            LXMessage.unpack_from_bytes on crafted inputs: message id and signature validity as the
                    reference computes them (for example non-canonical msgpack with a stamp attached).

Every exact entry is checked with the reference itself (unpack, signature, stamp validation) before output.

    python3 test/vectors/make_lxmf_vectors.py > pkg/lxmf/testdata/lxmf-1.2.1-vectors.json
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import RNS
import RNS.vendor.umsgpack as msgpack
import LXMF
import LXMF.LXStamper as LXStamper
from LXMF.LXMessage import LXMessage

PINNED_LXMF = "1.2.1"
PINNED_RNS = "1.5.7"
H = lambda b: b.hex()
TIMESTAMP = 1700000000.25


def seeded(label, n):
    """Deterministic bytes from a label, for keys and payloads."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha512(f"{label}-{i}".encode()).digest()
        i += 1
    return out[:n]


def call(fn, *args):
    """Run a reference helper, recording an exception as {"error": type name}."""
    try:
        return {"value": jsonable(fn(*args))}
    except Exception as e:  # noqa: BLE001 - recording the reference's failure is the point
        return {"error": type(e).__name__}


def jsonable(v):
    if isinstance(v, bytes):
        return {"bytes": H(v)}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


def main():
    if "--any-version" not in sys.argv:
        if LXMF.__version__ != PINNED_LXMF or RNS.__version__ != PINNED_RNS:
            sys.exit(f"want lxmf {PINNED_LXMF} / rns {PINNED_RNS}, have {LXMF.__version__} / {RNS.__version__}")

    cfg = tempfile.mkdtemp()
    with open(os.path.join(cfg, "config"), "w") as f:
        f.write("[reticulum]\n  enable_transport = No\n  share_instance = No\n[logging]\n  loglevel = 0\n"
                "[interfaces]\n")
    RNS.Reticulum(configdir=cfg, loglevel=0)

    out = {"reference": {"rns": RNS.__version__, "lxmf": LXMF.__version__}, "timestamp": TIMESTAMP}

    ids = [RNS.Identity.from_bytes(seeded(f"reticle-lxmf-identity-{i}", 64)) for i in range(3)]
    ins = [RNS.Destination(x, RNS.Destination.IN, RNS.Destination.SINGLE, "lxmf", "delivery") for x in ids]
    outs = [RNS.Destination(x, RNS.Destination.OUT, RNS.Destination.SINGLE, "lxmf", "delivery") for x in ids]
    out["identities"] = [{"private_key": H(x.get_private_key()), "public_key": H(x.get_public_key()),
                          "hash": H(x.hash), "delivery_hash": H(d.hash)} for x, d in zip(ids, ins)]

    def check_unpack(packed, want_hash, want_stamp=None):
        m = LXMessage.unpack_from_bytes(packed)
        assert m.hash == want_hash, "reference unpack gives another message id"
        assert m.signature_validated, "reference unpack does not validate the signature"
        assert m.stamp == want_stamp
        return m

    # Plain messages with typed and unknown fields.
    attachments = [["a.txt", b"attachment bytes"], ["b.bin", seeded("bin", 300)]]
    cases = [
        ("hello", "", "hello", None),
        ("title", "Title", "with title", None),
        ("empty", "", "", None),
        ("unicode", "ťïtle", "unicode ✓ ünï", None),
        ("bytes_content", b"\xff\x00", seeded("content", 40), None),
        ("content_300", "", seeded("c300", 300), None),
        ("content_70000", "", seeded("c70000", 70000), None),
        ("attachments", "", "files", {LXMF.FIELD_FILE_ATTACHMENTS: attachments}),
        ("image", "", "picture", {LXMF.FIELD_IMAGE: ["webp", seeded("img", 200)]}),
        ("audio", "", "voice", {LXMF.FIELD_AUDIO: [LXMF.AM_OPUS_OGG, seeded("aud", 120)]}),
        ("ticket_field", "", "ticket", {LXMF.FIELD_TICKET: [TIMESTAMP + LXMessage.TICKET_EXPIRY,
                                                             seeded("ticket", 16)]}),
        ("renderer_thread", "", "# md", {LXMF.FIELD_RENDERER: LXMF.RENDERER_MARKDOWN,
                                         LXMF.FIELD_THREAD: seeded("thread", 32),
                                         LXMF.FIELD_REPLY_TO: seeded("reply", 32)}),
        ("unknown_fields", "", "unknown", {
            0xFB: b"\x01\x02",
            0xFC: {"k": [1, -1, -33, 127, 128, 255, 256, 65535, 65536, 2**32, -2**31 - 1, 2**63, -2**63,
                         2.5, -0.0, None, True, False, "s" * 40, b"b" * 40]},
            0x1234: [[1, 2], {"nested": {1: b"x"}}],
            0x30: msgpack.Ext(5, b"\x01\x02\x03"),
            -1: "negative key",
            "str-key": "string keys are kept",
            2**40: b"",
        }),
        ("many_fields", "", "many", {i: i for i in range(20)}),
        ("all_typed", "T", "all", {LXMF.FIELD_FILE_ATTACHMENTS: attachments[:1],
                                   LXMF.FIELD_IMAGE: ["png", b"\x89PNG"],
                                   LXMF.FIELD_AUDIO: [LXMF.AM_CODEC2_1200, b"\x00" * 10]}),
    ]
    msgs = []
    for name, title, content, fields in cases:
        m = LXMessage(outs[1], ins[0], content, title, fields, desired_method=LXMessage.DIRECT)
        m.timestamp = TIMESTAMP
        m.pack()
        check_unpack(m.packed, m.hash)
        msgs.append({"name": name, "source": 0, "destination": 1, "timestamp": m.timestamp,
                     "title": H(m.title), "content": H(m.content),
                     "fields_packed": H(msgpack.packb(m.fields)),
                     "packed": H(m.packed),
                     "message_id": H(m.hash), "signature": H(m.signature),
                     "method": m.method, "representation": m.representation})
    # Opportunistic method selection: small fits a packet, large falls back to direct.
    for name, content in (("opportunistic_small", "hi"), ("opportunistic_large", "x" * 400)):
        m = LXMessage(outs[2], ins[1], content, "", None, desired_method=LXMessage.OPPORTUNISTIC)
        m.timestamp = TIMESTAMP
        m.pack()
        check_unpack(m.packed, m.hash)
        msgs.append({"name": name, "source": 1, "destination": 2, "timestamp": m.timestamp,
                     "title": "", "content": H(m.content), "fields_packed": H(msgpack.packb(m.fields)),
                     "packed": H(m.packed),
                     "message_id": H(m.hash), "signature": H(m.signature),
                     "method": m.method, "representation": m.representation})
    out["messages"] = msgs

    # Stamped messages: proof-of-work at cost 8, and ticket stamps.
    stamped = []
    for i, cost in enumerate((8, 8, 12)):
        m = LXMessage(outs[1], ins[0], f"stamped {i}", "", None, desired_method=LXMessage.DIRECT,
                      stamp_cost=cost)
        m.timestamp = TIMESTAMP + i
        m.defer_stamp = False
        m.pack()
        assert m.stamp is not None and len(m.stamp) == LXStamper.STAMP_SIZE
        u = check_unpack(m.packed, m.hash, m.stamp)
        assert u.validate_stamp(cost)
        stamped.append({"kind": "pow", "cost": cost, "timestamp": m.timestamp, "content": H(m.content),
                        "source": 0, "destination": 1, "packed": H(m.packed), "message_id": H(m.hash),
                        "signature": H(m.signature), "stamp": H(m.stamp), "stamp_value": u.stamp_value})
    ticket = seeded("outbound-ticket", LXMessage.TICKET_LENGTH)
    m = LXMessage(outs[1], ins[0], "ticketed", "", None, desired_method=LXMessage.DIRECT, stamp_cost=20)
    m.timestamp = TIMESTAMP
    m.outbound_ticket = ticket
    m.defer_stamp = False
    m.pack()
    u = check_unpack(m.packed, m.hash, m.stamp)
    assert u.validate_stamp(20, tickets=[seeded("other", 16), ticket]) and u.stamp_value == LXMessage.COST_TICKET
    assert not LXMessage.unpack_from_bytes(m.packed).validate_stamp(20, tickets=[seeded("other", 16)])
    stamped.append({"kind": "ticket", "cost": 20, "timestamp": m.timestamp, "content": H(m.content),
                    "source": 0, "destination": 1, "ticket": H(ticket), "packed": H(m.packed),
                    "message_id": H(m.hash), "signature": H(m.signature), "stamp": H(m.stamp),
                    "stamp_value": LXMessage.COST_TICKET})
    out["stamped"] = stamped

    # Propagated and paper forms: random encryption, decode-only.
    prop = []
    for pn_cost in (None, 8):
        m = LXMessage(outs[1], ins[0], "via propagation", "P", {LXMF.FIELD_IMAGE: ["webp", b"img"]},
                      desired_method=LXMessage.PROPAGATED)
        m.timestamp = TIMESTAMP
        m.pack()
        if pn_cost is not None:
            # as LXMRouter.process_deferred_stamps does it
            m.propagation_stamp = m.get_propagation_stamp(target_cost=pn_cost)
            m.defer_propagation_stamp = False
            m.packed = None
            m.pack()
        container = msgpack.unpackb(m.propagation_packed)
        lxmf_data = container[1][0]
        if pn_cost is not None:
            tid, data, value, stamp = LXStamper.validate_pn_stamp(lxmf_data, pn_cost)
            assert tid == m.transient_id and stamp == m.propagation_stamp
            lxmf_data = data
        plain = ids[1].decrypt(lxmf_data[LXMessage.DESTINATION_LENGTH:])
        check_unpack(lxmf_data[:LXMessage.DESTINATION_LENGTH] + plain, m.hash)
        prop.append({"method": "propagated", "source": 0, "destination": 1, "propagation_cost": pn_cost,
                     "propagation_packed": H(m.propagation_packed), "transient_id": H(m.transient_id),
                     "propagation_stamp": H(m.propagation_stamp) if m.propagation_stamp else None,
                     "propagation_stamp_value": m.propagation_stamp_value,
                     "packed": H(m.packed), "message_id": H(m.hash)})
    m = LXMessage(outs[1], ins[0], "on paper", "", None, desired_method=LXMessage.PAPER)
    m.timestamp = TIMESTAMP
    m.pack()
    uri = m.as_uri(finalise=False)
    plain = ids[1].decrypt(m.paper_packed[LXMessage.DESTINATION_LENGTH:])
    check_unpack(m.paper_packed[:LXMessage.DESTINATION_LENGTH] + plain, m.hash)
    prop.append({"method": "paper", "source": 0, "destination": 1, "paper_packed": H(m.paper_packed),
                 "uri": uri, "packed": H(m.packed), "message_id": H(m.hash)})
    out["propagated"] = prop

    # Workblocks and stamp values.
    wbs = []
    for label, rounds in (("msg", LXStamper.WORKBLOCK_EXPAND_ROUNDS), ("pn", LXStamper.WORKBLOCK_EXPAND_ROUNDS_PN),
                          ("peer", LXStamper.WORKBLOCK_EXPAND_ROUNDS_PEERING), ("two", 2)):
        material = hashlib.sha256(label.encode()).digest()
        wb = LXStamper.stamp_workblock(material, expand_rounds=rounds)
        stamps = []
        for j in range(6):
            s = seeded(f"stamp-{label}", 32 * (j + 1))[-32:]
            stamps.append({"stamp": H(s), "value": LXStamper.stamp_value(wb, s),
                           "valid": {str(c): LXStamper.stamp_valid(s, c, wb) for c in (0, 1, 2, 3, 8, 256)}})
        wbs.append({"material": H(material), "rounds": rounds, "length": len(wb), "sha256": H(hashlib.sha256(wb).digest()),
                    "head": H(wb[:64]), "stamps": stamps})
    out["workblocks"] = wbs

    peering = []
    for i in range(2):
        peering_id = seeded(f"peering-{i}", 32)
        key, value = LXStamper.generate_stamp(peering_id, 6, expand_rounds=LXStamper.WORKBLOCK_EXPAND_ROUNDS_PEERING)
        peering.append({"peering_id": H(peering_id), "key": H(key), "cost": 6, "value": value,
                        "valid": LXStamper.validate_peering_key(peering_id, key, 6),
                        "valid_at_value_plus_one": LXStamper.validate_peering_key(peering_id, key, value + 1)})
    out["peering_keys"] = peering

    # Delivery announce app data as LXMRouter builds it.
    store = tempfile.mkdtemp()
    router = LXMF.LXMRouter(identity=RNS.Identity.from_bytes(seeded("router", 64)), storagepath=store)
    dd = router.register_delivery_identity(RNS.Identity.from_bytes(seeded("router-delivery", 64)),
                                         display_name="Vector Two", stamp_cost=None)
    dad = []
    for name, cost in (("Vector Two", None), ("Ünïcode ✓", 8), (None, None), ("", 16), ("x", 0), ("y", 255),
                       ("z", 254), ("long " * 20, 1)):
        dd.display_name = name
        dd.stamp_cost = cost
        app_data = router.get_announce_app_data(dd.hash)
        dad.append({"display_name": name, "stamp_cost": cost, "app_data": H(app_data)})
    out["delivery_app_data"] = dad

    parse = []
    variants = [
        b"", b"Legacy Name", "Lëgacy ✓".encode(), b"\xff\xfe", msgpack.packb([b"Name"]),
        msgpack.packb([b"Name", 7]), msgpack.packb([b"Name", None, [LXMF.SF_COMPRESSION]]),
        msgpack.packb([b"Name", 9, []]), msgpack.packb([b"Name", 9, "notalist"]), msgpack.packb([None, 3, [0]]),
        msgpack.packb([b" \x00Padded\x00 ", 1, [0]]), msgpack.packb([b"\xff", 1]), msgpack.packb([]),
        msgpack.packb(["str name", 2, [0]]), msgpack.packb([b"N", 5, [0], "extra"]),
        b"\xdc\x00\x02\xc4\x01A\x04", b"\x93\xc4", msgpack.packb({"a": 1}), msgpack.packb([b"N", "cost"]),
    ]
    for v in variants:
        parse.append({"app_data": H(v), "display_name": call(LXMF.display_name_from_app_data, v),
                      "stamp_cost": call(LXMF.stamp_cost_from_app_data, v),
                      "compression": call(LXMF.compression_support_from_app_data, v)})
    out["app_data_parse"] = parse

    pn = []
    live = router.get_propagation_node_app_data()
    meta = {LXMF.PN_META_NAME: b"Node \xc3\xa9", LXMF.PN_META_IMPL_NAME: "lxmd", LXMF.PN_META_VERSION: "1.2.1"}
    pn_variants = [
        live,
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3, 18], meta]),
        msgpack.packb([False, 1700000000, False, 256, 10240, [16, 3, 18], {}]),
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3, 18], {}, "extra"]),
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3], meta]),
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3, 18], []]),
        msgpack.packb([False, 1700000000, 1, 256, 10240, [16, 3, 18], {}]),
        msgpack.packb([False, 1700000000.5, True, 256.5, 10240, [16.9, 3, 18], {}]),
        msgpack.packb([False, "now", True, 256, 10240, [16, 3, 18], {}]),
        msgpack.packb([False, 1700000000, True, None, 10240, [16, 3, 18], {}]),
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3, 18], {LXMF.PN_META_NAME: b"\xff"}]),
        msgpack.packb([False, 1700000000, True, 256, 10240, [16, 3, 18], {LXMF.PN_META_NAME: "str"}]),
        msgpack.packb([False, 1700000000, True]),
        msgpack.packb([True, 1700000000]),
        b"\x01", b"",
    ]
    for v in pn_variants:
        pn.append({"app_data": H(v), "valid": LXMF.pn_announce_data_is_valid(v),
                   "name": call(LXMF.pn_name_from_app_data, v),
                   "stamp_cost": call(LXMF.pn_stamp_cost_from_app_data, v)})
    out["pn_app_data"] = pn

    # unpack_from_bytes on crafted payloads: what the reference computes as id and signature validity.
    crafted = []
    src, dst = ins[0], outs[1]

    def craft(name, payload_4, extra=None, payload_raw=None):
        """Sign payload_raw (or packb(payload_4)) as pack() would, then append extra elements."""
        packed_payload = payload_raw if payload_raw is not None else msgpack.packb(payload_4)
        hashed = dst.hash + src.hash + packed_payload
        mid = RNS.Identity.full_hash(hashed)
        sig = src.sign(hashed + mid)
        if extra is not None:
            wire_payload = extra
        else:
            wire_payload = packed_payload
        raw = dst.hash + src.hash + sig + wire_payload
        entry = {"name": name, "packed": H(raw), "signed_message_id": H(mid)}
        try:
            m = LXMessage.unpack_from_bytes(raw)
            entry.update({"ok": True, "message_id": H(m.hash), "signature_valid": bool(m.signature_validated),
                          "stamp": H(m.stamp) if isinstance(m.stamp, bytes) else jsonable(m.stamp)})
        except Exception as e:  # noqa: BLE001
            entry.update({"ok": False, "error": type(e).__name__})
        crafted.append(entry)

    base = [TIMESTAMP, b"t", b"c", {}]
    stamp = seeded("crafted-stamp", 32)
    craft("canonical_with_stamp", base, extra=msgpack.packb(base + [stamp]))
    # float32 timestamp: the reference re-packs it as float64 when a stamp is present
    f32 = b"\x94\xca\x4e\xca\xa9\x6c\xc4\x01t\xc4\x01c\x80"
    craft("float32_timestamp_no_stamp", None, payload_raw=f32)
    craft("float32_timestamp_with_stamp", None, payload_raw=f32,
          extra=b"\x95" + f32[1:] + b"\xc4\x20" + stamp)
    # non-minimal integer field key
    nm = b"\x94\xcb" + msgpack.packb(TIMESTAMP)[1:] + b"\xc4\x01t\xc4\x01c\x81\xcd\x00\x05\x01"
    craft("nonminimal_int_no_stamp", None, payload_raw=nm)
    craft("nonminimal_int_with_stamp", None, payload_raw=nm, extra=b"\x95" + nm[1:] + b"\xc4\x20" + stamp)
    craft("six_elements", base, extra=msgpack.packb(base + [stamp, b"more"]))
    craft("stamp_not_bytes", base, extra=msgpack.packb(base + [7]))
    craft("fields_nil", [TIMESTAMP, b"t", b"c", None])
    craft("fields_list", [TIMESTAMP, b"t", b"c", [1]])
    craft("title_str", [TIMESTAMP, "t", "c", {}])
    craft("int_timestamp", [1700000000, b"t", b"c", {}])
    craft("three_elements", None, payload_raw=msgpack.packb([TIMESTAMP, b"t", b"c"]))
    craft("trailing_bytes", None, payload_raw=msgpack.packb(base) + b"\x00")
    craft("duplicate_keys", None, payload_raw=msgpack.packb(base)[:-1] + b"\x82\x01\x01\x01\x02")
    craft("invalid_utf8_str", None, payload_raw=msgpack.packb(base)[:-1] + b"\x81\x01\xa1\xff")
    craft("ext_timestamp_with_stamp", [TIMESTAMP, b"t", b"c", {1: msgpack.Ext(-1, b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05")}],
          extra=b"\x95" + msgpack.packb([TIMESTAMP, b"t", b"c", {1: msgpack.Ext(-1, b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05")}])[1:] + b"\xc4\x20" + stamp)
    out["unpack"] = crafted

    # The packer itself: canonical encodings at every size boundary, and what umsgpack makes of
    # non-canonical or invalid input (packb(unpackb(x)), or the exception unpackb raises).
    values = [None, True, False, 0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
              -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63,
              0.0, -0.0, 1.5, 1e300, float("inf"), 1700000000.25]
    for n in (0, 1, 31, 32, 255, 256, 65535, 65536):
        values.append("s" * n)
        values.append(b"b" * n)
    for n in (0, 15, 16, 65535, 65536):
        values.append(list(range(n % 100)) + [0] * (n - n % 100))
    for n in (0, 15, 16, 300):
        values.append({i: i for i in range(n)})
    for n in (1, 2, 3, 4, 8, 16, 17, 255, 256, 65536):
        values.append(msgpack.Ext(7, b"e" * n))
    values.append([{"k": [b"", "", None]}, {(1, 2): 3}])
    out["msgpack"] = [H(msgpack.packb(x)) for x in values]
    repack = []
    for raw in [
        "ca3fc00000", "cc05", "cd0005", "ce00000005", "cf0000000000000005", "d0ff", "d1ffff", "d2ffffffff",
        "d3ffffffffffffffff", "d3000000000000007f", "d90161", "da000161", "db0000000161", "c50001ff", "c600000001ff",
        "dc0001c0", "dd00000001c0", "de0001c0c0", "df00000001c0c0", "c70107ff", "d6ff00000005", "d7ff0000000000000005",
        "d7ff0000fa0000000005", "c70cff000003e80000000000000005",
        "c70cffffffffff0000000000000005", "c70cff00000000fffffff1886e0900", "c70cff000000007fffffffffffffff",
        "d7ff000000000000000000", "d4ff00", "d8ff" + "00" * 16, "82910191010102", "8291010191010202", "82c3010102",
        "8201010102", "82cb3ff0000000000000010102", "82a16101c4016102", "81cb7ff8000000000000c0",
        "82cb8000000000000000010002", "829100019100c3", "82d6ff0000000501d7ff0000000000000005c3",
        "82cb7ff8000000000000c0cb7ff8000000000000c0", "81810101c0", "819181010101", "c1", "a1ff", "92c0", "",
        "c403ff", "9201", "81", "93c0c0c0ff",
    ]:
        if len(raw) % 2:
            continue
        b = bytes.fromhex(raw)
        try:
            repack.append({"in": raw, "out": H(msgpack.packb(msgpack.unpackb(b)))})
        except Exception as e:  # noqa: BLE001
            repack.append({"in": raw, "error": type(e).__name__})
    out["msgpack_repack"] = repack

    json.dump(out, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")
    sys.stdout.flush()
    shutil.rmtree(cfg, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    os._exit(0)  # the router's daemon threads would otherwise keep the process alive


if __name__ == "__main__":
    main()
