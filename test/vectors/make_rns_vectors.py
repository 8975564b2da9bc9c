#!/usr/bin/env python3
"""Produce Reticulum wire and identity test vectors by running the Python reference.

Pinned reference: rns==1.5.7 (pip install rns==1.5.7 lxmf==1.2.1). The script refuses other versions
unless --any-version is given.

Output: one JSON document on stdout (see testdata/README.md for the keys). Deterministic parts (packets
built from fixed fields, packet hashes, link ids, ratchet ids, HKDF outputs, IFAC-masked frames: Ed25519 is
deterministic) are exact. Randomised parts (announces, tokens) are given as produced, to be decoded,
validated or decrypted by an implementation, not re-produced. Every entry is checked with the reference
itself before it is written.

    python3 test/vectors/make_rns_vectors.py > testdata/rns-1.5.7-vectors.json
"""
import hashlib
import json
import os
import struct
import sys
import tempfile
import time

import RNS
from RNS.Cryptography import Token

PINNED = "1.5.7"
H = lambda b: b.hex()


def seeded(label, n):
    """Deterministic bytes from a label, for keys and payloads."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha512(f"{label}-{i}".encode()).digest()
        i += 1
    return out[:n]


class StubDestination:
    """Just enough of a destination for Packet.pack: hash, type, pass-through encryption."""

    def __init__(self, dest_hash, dest_type):
        self.hash = dest_hash
        self.type = dest_type
        self.link_id = dest_hash
        self.mtu = RNS.Reticulum.MTU

    def encrypt(self, plaintext):
        return plaintext


def unpacked(raw):
    p = RNS.Packet(None, raw)
    assert p.unpack(), "reference failed to unpack its own packet"
    return p


def packet_entry(name, raw):
    p = unpacked(raw)
    return {
        "name": name,
        "raw": H(raw),
        "header_type": p.header_type,
        "context_flag": p.context_flag,
        "transport_type": p.transport_type,
        "destination_type": p.destination_type,
        "packet_type": p.packet_type,
        "hops": p.hops,
        "transport_id": H(p.transport_id) if p.transport_id is not None else "",
        "destination_hash": H(p.destination_hash),
        "context": p.context,
        "data": H(p.data),
        "packet_hash": H(p.packet_hash),
        "hashable_part": H(p.get_hashable_part()),
    }


def make_packets():
    out = []
    types = [("data", RNS.Packet.DATA), ("announce", RNS.Packet.ANNOUNCE),
             ("linkrequest", RNS.Packet.LINKREQUEST), ("proof", RNS.Packet.PROOF)]
    dtypes = [("single", RNS.Destination.SINGLE), ("group", RNS.Destination.GROUP),
              ("plain", RNS.Destination.PLAIN), ("link", RNS.Destination.LINK)]
    contexts = [RNS.Packet.NONE, RNS.Packet.RESOURCE, RNS.Packet.REQUEST, RNS.Packet.PATH_RESPONSE,
                RNS.Packet.CHANNEL, RNS.Packet.KEEPALIVE, RNS.Packet.LRPROOF]
    transport_id = seeded("transport-id", 16)
    n = 0
    for tname, ptype in types:
        for dname, dtype in dtypes:
            for flag in (RNS.Packet.FLAG_UNSET, RNS.Packet.FLAG_SET):
                ctx = contexts[n % len(contexts)]
                if ctx == RNS.Packet.LRPROOF:
                    dtype_eff, dname_eff = RNS.Destination.LINK, "link"
                else:
                    dtype_eff, dname_eff = dtype, dname
                n += 1
                dest = StubDestination(seeded(f"dest-{n}", 16), dtype_eff)
                data = seeded(f"data-{n}", 1 + (n * 37) % 300)
                p = RNS.Packet(dest, data, packet_type=ptype, context=ctx, context_flag=flag,
                               transport_type=RNS.Transport.BROADCAST, header_type=RNS.Packet.HEADER_1,
                               create_receipt=False)
                p.pack()
                raw = bytearray(p.raw)
                raw[1] = [0, 1, 7, 127][n % 4]
                raw = bytes(raw)
                base = f"h1-{tname}-{dname_eff}-ctx{ctx:02x}-flag{flag}"
                out.append(packet_entry(base, raw))
                # The same packet in transport (Transport.outbound also clears the context flag; keep it here).
                new_flags = (RNS.Packet.HEADER_2 << 6) | (RNS.Transport.TRANSPORT << 4) | (raw[0] & 0b00101111)
                raw2 = struct.pack("!B", new_flags) + raw[1:2] + transport_id + raw[2:]
                out.append(packet_entry("h2-" + base[3:], raw2))
    # Header type 2 announce packed directly by Packet.pack.
    dest = StubDestination(seeded("dest-h2-announce", 16), RNS.Destination.SINGLE)
    p = RNS.Packet(dest, seeded("h2-announce-data", 200), packet_type=RNS.Packet.ANNOUNCE,
                   header_type=RNS.Packet.HEADER_2, transport_id=transport_id,
                   transport_type=RNS.Transport.TRANSPORT, create_receipt=False)
    p.pack()
    out.append(packet_entry("h2-announce-packed", p.raw))
    # Largest packet within the MTU, and a one-byte payload.
    dest = StubDestination(seeded("dest-mtu", 16), RNS.Destination.PLAIN)
    p = RNS.Packet(dest, seeded("mtu-data", RNS.Reticulum.MTU - RNS.Reticulum.HEADER_MINSIZE),
                   create_receipt=False)
    p.pack()
    assert len(p.raw) == RNS.Reticulum.MTU
    out.append(packet_entry("h1-data-plain-mtu", p.raw))
    return out


def make_invalid_packets():
    """Frames the reference's Packet.unpack rejects."""
    good = bytes([0x00, 0x00]) + seeded("inv", 16) + b"\x00" + b"payload"
    cases = {
        "empty": b"",
        "one-byte": b"\x00",
        "header-only-h1": good[:19],
        "short-destination-h1": good[:10],
        "hops-128": bytes([0x00, 128]) + good[2:],
        "hops-255": bytes([0x00, 255]) + good[2:],
        "h2-short-destination": bytes([0x40, 0x00]) + seeded("inv2", 20),
        "h2-header-only": bytes([0x40, 0x00]) + seeded("inv3", 32) + b"\x00",
    }
    out = []
    for name, raw in cases.items():
        p = RNS.Packet(None, raw)
        assert not p.unpack(), f"reference accepted invalid packet {name}"
        out.append({"name": name, "raw": H(raw)})
    return out


def make_announces(ids, cfgdir):
    out = []
    cases = [
        (0, ("lxmf", "delivery"), b"", False, False),
        (1, ("lxmf", "delivery"), b"\x93\xa8Vector 1\x08\x90", False, False),
        (2, ("nomadnetwork", "node"), b"node name", True, False),
        (0, ("example_utilities", "announcesample", "fruits"), seeded("appdata", 120), True, True),
        (1, ("lxmf", "propagation"), b"", True, True),
    ]
    ratchet_dir = os.path.join(cfgdir, "ratchet-files")
    os.makedirs(ratchet_dir, exist_ok=True)
    for n, (idx, name, app_data, with_ratchet, path_response) in enumerate(cases):
        d = RNS.Destination(ids[idx], RNS.Destination.IN, RNS.Destination.SINGLE, name[0], *name[1:])
        if with_ratchet:
            d.enable_ratchets(os.path.join(ratchet_dir, f"r{n}"))
        before = int(time.time())
        p = d.announce(app_data=app_data if app_data else None, path_response=path_response, send=False)
        p.pack()
        after = int(time.time())
        RNS.Transport.deregister_destination(d)
        q = unpacked(p.raw)
        assert RNS.Identity.validate_announce(q, only_validate_signature=True)
        ratchet_pub = b""
        ratchet_prv = b""
        if with_ratchet:
            ratchet_prv = d.ratchets[0]
            ratchet_pub = RNS.Identity._ratchet_public_bytes(ratchet_prv)
        keysize = RNS.Identity.KEYSIZE // 8
        nh = RNS.Identity.NAME_HASH_LENGTH // 8
        random_hash = q.data[keysize + nh:keysize + nh + 10]
        out.append({
            "identity": idx, "name": ".".join(name), "destination_hash": H(d.hash), "name_hash": H(d.name_hash),
            "app_data": H(app_data), "ratchet_public": H(ratchet_pub), "ratchet_private": H(ratchet_prv),
            "ratchet_id": H(RNS.Identity._get_ratchet_id(ratchet_pub)) if ratchet_pub else "",
            "path_response": path_response, "context_flag": q.context_flag, "context": q.context,
            "random_hash": H(random_hash), "timestamp": RNS.Transport.timebase_from_random_blob(random_hash),
            "time_min": before, "time_max": after, "packet": H(p.raw), "packet_hash": H(q.packet_hash),
        })
    return out


def make_exact_announces(ids, cfgdir):
    """Announces with the random prefix, clock and ratchet pinned, so they are byte-exact."""
    out = []
    cases = [
        (0, ("lxmf", "delivery"), b"", False, False, 1700000000),
        (1, ("lxmf", "delivery"), b"\x93\xa8Vector 1\x08\x90", False, False, 1750000001),
        (2, ("nomadnetwork", "node"), b"node name", True, False, 1760000002),
        (0, ("reticle", "exact", "ratchet"), seeded("exact-app", 200), True, True, 1234567890),
    ]
    real_random, real_time, real_gen = RNS.Identity.get_random_hash, time.time, RNS.Identity._generate_ratchet
    try:
        for n, (idx, name, app_data, with_ratchet, path_response, when) in enumerate(cases):
            random16 = seeded(f"exact-random-{n}", 16)
            ratchet_prv = seeded(f"exact-ratchet-{n}", 32)
            RNS.Identity.get_random_hash = staticmethod(lambda r=random16: r)
            RNS.Identity._generate_ratchet = staticmethod(lambda k=ratchet_prv: k)
            time.time = lambda w=when: float(w)
            d = RNS.Destination(ids[idx], RNS.Destination.IN, RNS.Destination.SINGLE, name[0], *name[1:])
            if with_ratchet:
                d.enable_ratchets(os.path.join(cfgdir, f"exact-ratchets-{n}"))
            p = d.announce(app_data=app_data if app_data else None, path_response=path_response, send=False)
            p.pack()
            RNS.Transport.deregister_destination(d)
            time.time = real_time
            q = unpacked(p.raw)
            assert RNS.Identity.validate_announce(q)
            out.append({"identity": idx, "app": name[0], "aspects": list(name[1:]), "app_data": H(app_data),
                        "random": H(random16[:5]), "time": when, "path_response": path_response,
                        "ratchet_private": H(ratchet_prv) if with_ratchet else "",
                        "ratchet_public": H(RNS.Identity._ratchet_public_bytes(ratchet_prv)) if with_ratchet else "",
                        "packet": H(p.raw)})
    finally:
        RNS.Identity.get_random_hash, time.time, RNS.Identity._generate_ratchet = real_random, real_time, real_gen
    return out


def make_invalid_announces(ids):
    """Announces the reference rejects: a flipped signature byte, a wrong destination hash."""
    d = RNS.Destination(ids[0], RNS.Destination.IN, RNS.Destination.SINGLE, "reticle", "invalid")
    p = d.announce(app_data=b"app", send=False)
    p.pack()
    out = []
    bad_sig = bytearray(p.raw)
    bad_sig[19 + 64 + 10 + 10 + 5] ^= 0x01
    bad_dest = bytearray(p.raw)
    bad_dest[2] ^= 0x01
    bad_app = bytearray(p.raw)
    bad_app[-1] ^= 0x01
    for name, raw in [("bad-signature", bad_sig), ("bad-destination", bad_dest), ("bad-app-data", bad_app)]:
        q = unpacked(bytes(raw))
        assert not RNS.Identity.validate_announce(q), name
        out.append({"name": name, "packet": H(bytes(raw))})
    return out


def make_tokens(ids):
    out = {"identity": [], "ratchet": [], "group": []}
    msgs = [b"", b"a", seeded("tok", 15), seeded("tok", 16), seeded("tok", 17), seeded("tok", 383)]
    for i, ident in enumerate(ids):
        for m in msgs:
            t = ident.encrypt(m)
            assert ident.decrypt(t) == m
            out["identity"].append({"identity": i, "plaintext": H(m), "token": H(t)})
    for i, ident in enumerate(ids):
        prvs = [seeded(f"ratchet-{i}-{k}", 32) for k in range(3)]
        for k, prv in enumerate(prvs):
            pub = RNS.Identity._ratchet_public_bytes(prv)
            m = seeded(f"ratchet-msg-{i}-{k}", 40 + k)
            t = ident.encrypt(m, ratchet=pub)
            assert ident.decrypt(t, ratchets=prvs) == m
            assert ident.decrypt(t, ratchets=[p for p in prvs if p != prv], enforce_ratchets=True) is None
            out["ratchet"].append({"identity": i, "ratchet_private": H(prv), "ratchet_public": H(pub),
                                   "ratchet_id": H(RNS.Identity._get_ratchet_id(pub)),
                                   "plaintext": H(m), "token": H(t)})
    for klen in (64, 32):
        key = seeded(f"group-key-{klen}", klen)
        tok = Token(key)
        for m in msgs[:4]:
            t = tok.encrypt(m)
            assert tok.decrypt(t) == m
            out["group"].append({"key": H(key), "plaintext": H(m), "token": H(t)})
    return out


def make_hkdf():
    out = []
    cases = [(32, b"ikm", b"", b""), (64, seeded("ikm", 32), seeded("salt", 16), b""),
             (64, seeded("ikm2", 32), seeded("salt2", 32), b"ctx"), (100, b"x", seeded("s", 64), b""),
             (8160, b"long", b"salt", b""), (8200, b"wrap", b"salt", b""), (9000, seeded("w", 9), seeded("ws", 64), b"")]
    for length, ikm, salt, ctx in cases:
        v = RNS.Cryptography.hkdf(length=length, derive_from=ikm, salt=salt if salt else None,
                                  context=ctx if ctx else None)
        out.append({"length": length, "ikm": H(ikm), "salt": H(salt), "info": H(ctx), "okm": H(v)})
    return out


class IfacInterface:
    """The attributes Transport's IFAC functions read, derived as Reticulum._add_interface does."""

    def __init__(self, netname, netkey, size):
        self.ifac_size = size
        self.ifac_netname = netname
        self.ifac_netkey = netkey
        origin = b""
        if netname is not None:
            origin += RNS.Identity.full_hash(netname.encode("utf-8"))
        if netkey is not None:
            origin += RNS.Identity.full_hash(netkey.encode("utf-8"))
        self.ifac_key = RNS.Cryptography.hkdf(length=64, derive_from=RNS.Identity.full_hash(origin),
                                              salt=RNS.Reticulum.IFAC_SALT, context=None)
        self.ifac_identity = RNS.Identity.from_bytes(self.ifac_key)
        self.ifac_signature = self.ifac_identity.sign(RNS.Identity.full_hash(self.ifac_key))
        self.violations = []

    def ifac_violation(self, why):
        self.violations.append(why)


def make_ifac():
    out = []
    configs = [("reticle-test", "secret passphrase", 16), ("reticle-test", None, 8), (None, "only a key", 16),
               ("näme ✓", "päss", 1), ("net", "key", 64)]
    raws = [bytes([0x00, 0x00]) + seeded("ifac-dst", 16) + b"\x00" + b"hello",
            bytes([0x51, 0x03]) + seeded("ifac-tid", 16) + seeded("ifac-dst2", 16) + b"\x0b" + seeded("ifac-d", 300),
            bytes([0x08, 0x00]) + seeded("ifac-dst3", 16) + b"\x00" + seeded("ifac-big", 9000)]
    for n, (netname, netkey, size) in enumerate(configs):
        iface = IfacInterface(netname, netkey, size)
        for raw in raws if n == 0 else raws[:2]:
            masked = RNS.Transport.handle_outgoing_ifac(iface, raw)
            assert masked == RNS.Transport.handle_outgoing_ifac_legacy(iface, raw)
            ok, back = RNS.Transport.handle_ifac(masked, iface)
            assert ok and back == raw
            for pos in (0, 1, 2, len(masked) - 1):  # a flipped bit anywhere fails the check
                tampered = bytearray(masked)
                tampered[pos] ^= 0x01
                ok, _ = RNS.Transport.handle_ifac(bytes(tampered), iface)
                assert not ok
            out.append({"netname": netname if netname is not None else "", "netkey": netkey if netkey is not None else "",
                        "size": size, "ifac_key": H(iface.ifac_key), "ifac_signature": H(iface.ifac_signature),
                        "raw": H(raw), "masked": H(masked)})
    return out


def make_link_ids():
    out = []
    dest = StubDestination(seeded("link-dest", 16), RNS.Destination.SINGLE)
    for n, (mtu, mode) in enumerate([(None, None), (500, RNS.Link.MODE_AES256_CBC), (262144, RNS.Link.MODE_AES256_CBC),
                                     (1196, RNS.Link.MODE_AES256_CBC)]):
        data = seeded(f"link-keys-{n}", 64)
        sig = b""
        if mtu is not None:
            sig = RNS.Link.signalling_bytes(mtu, mode)
            data += sig
        p = RNS.Packet(dest, data, packet_type=RNS.Packet.LINKREQUEST, create_receipt=False)
        p.pack()
        q = unpacked(p.raw)
        out.append({"packet": H(p.raw), "link_id": H(RNS.Link.link_id_from_lr_packet(q)),
                    "signalling": H(sig), "mtu": mtu or 0, "mode": mode or 0})
    return out


def make_proofs(ids):
    out = []
    for i, ident in enumerate(ids):
        ph = RNS.Identity.full_hash(seeded(f"proved-{i}", 50))
        out.append({"identity": i, "packet_hash": H(ph), "signature": H(ident.sign(ph))})
    return out


def main():
    if RNS.__version__ != PINNED and "--any-version" not in sys.argv:
        sys.exit(f"reference is rns {RNS.__version__}, want {PINNED} (or pass --any-version)")
    cfg = tempfile.mkdtemp()
    with open(os.path.join(cfg, "config"), "w") as f:
        f.write("[reticulum]\n  enable_transport = No\n  share_instance = No\n[logging]\n  loglevel = 0\n[interfaces]\n")
    RNS.Reticulum(configdir=cfg, loglevel=0)

    ids = [RNS.Identity.from_bytes(hashlib.sha512(f"reticle-vector-identity-{i}".encode()).digest()) for i in range(3)]
    names = [("lxmf", ["delivery"]), ("lxmf", ["propagation"]), ("nomadnetwork", ["node"]),
             ("rnstransport", ["path", "request"]), ("example_utilities", ["announcesample", "fruits"]), ("app", [])]
    out = {
        "reference": {"rns": RNS.__version__, "generator": "test/vectors/make_rns_vectors.py",
                      "crypto_backend": RNS.Cryptography.Provider.backend()},
        "identities": [{"private_key": H(x.get_private_key()), "public_key": H(x.get_public_key()), "hash": H(x.hash)}
                       for x in ids],
        "destinations": [{"app": a, "aspects": asp, "identity": i,
                          "name": RNS.Destination.expand_name(None, a, *asp),
                          "name_hash": H(RNS.Identity.full_hash(RNS.Destination.expand_name(None, a, *asp).encode())[:10]),
                          "hash": H(RNS.Destination.hash(ids[i] if i >= 0 else None, a, *asp))}
                         for a, asp in names for i in (-1, 0, 1, 2)],
        "packets": make_packets(),
        "invalid_packets": make_invalid_packets(),
        "announces": make_announces(ids, cfg),
        "exact_announces": make_exact_announces(ids, cfg),
        "invalid_announces": make_invalid_announces(ids),
        "tokens": make_tokens(ids),
        "hkdf": make_hkdf(),
        "ifac": make_ifac(),
        "link_ids": make_link_ids(),
        "proofs": make_proofs(ids),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
