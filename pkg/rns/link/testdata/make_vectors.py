#!/usr/bin/env python3
"""Writes link-vectors.json from the Python reference (pip install rns==1.5.7).

Run from this directory: python3 make_vectors.py > link-vectors.json
Deterministic: every key and field is fixed below; nothing random is recorded
except Token ciphertexts, which the Go test only decrypts.
"""
import bz2
import hashlib
import json

import RNS
from RNS.Cryptography import X25519PrivateKey, Ed25519PrivateKey, Token
from RNS.vendor import umsgpack


def h(b):
    return b.hex()


def seed(label, n=32):
    return hashlib.sha256(label.encode()).digest()[:n]


def main():
    out = {"rns_version": RNS.__version__}
    dest_id = RNS.Identity.from_bytes(seed("dest x25519") + seed("dest ed25519"))
    dest = RNS.Destination(dest_id, RNS.Destination.OUT, RNS.Destination.SINGLE, "reticle_test", "link")

    init_x = X25519PrivateKey.from_private_bytes(seed("initiator x25519"))
    init_ed = Ed25519PrivateKey.from_private_bytes(seed("initiator ed25519"))
    resp_x = X25519PrivateKey.from_private_bytes(seed("responder x25519"))
    init_pub = init_x.public_key().public_bytes()
    init_sig_pub = init_ed.public_key().public_bytes()
    resp_pub = resp_x.public_key().public_bytes()

    links = []
    for mtu in (None, 500, 262144):
        data = init_pub + init_sig_pub
        if mtu is not None:
            data += RNS.Link.signalling_bytes(mtu, RNS.Link.MODE_AES256_CBC)
        pkt = RNS.Packet(dest, data, packet_type=RNS.Packet.LINKREQUEST)
        pkt.pack()
        link_id = RNS.Link.link_id_from_lr_packet(pkt)
        shared = resp_x.exchange(init_x.public_key())
        derived = RNS.Cryptography.hkdf(length=64, derive_from=shared, salt=link_id, context=None)
        confirmed = mtu if mtu is not None else RNS.Reticulum.MTU
        sb = RNS.Link.signalling_bytes(confirmed, RNS.Link.MODE_AES256_CBC)
        signed = link_id + resp_pub + dest_id.get_public_key()[32:] + sb
        proof = dest_id.sign(signed) + resp_pub + sb
        plaintext = b"link vector plaintext"
        links.append({
            "mtu": mtu or 0,
            "request_raw": h(pkt.raw),
            "link_id": h(link_id),
            "shared": h(shared),
            "derived_key": h(derived),
            "proof_data": h(proof),
            "token": h(Token(derived).encrypt(plaintext)),
            "plaintext": h(plaintext),
        })
    out["dest_private_key"] = h(dest_id.get_private_key())
    out["dest_hash"] = h(dest.hash)
    out["initiator_x25519_private"] = h(seed("initiator x25519"))
    out["responder_x25519_private"] = h(seed("responder x25519"))
    out["responder_x25519_public"] = h(resp_pub)
    out["links"] = links

    path_hash = RNS.Identity.truncated_hash("/page/index.mu".encode("utf-8"))
    out["msgpack"] = [
        {"name": "rtt", "packed": h(umsgpack.packb(0.0123456))},
        {"name": "request", "packed": h(umsgpack.packb([1700000000.25, path_hash, b"request data"]))},
        {"name": "request nil data", "packed": h(umsgpack.packb([1700000000.25, path_hash, None]))},
        {"name": "response", "packed": h(umsgpack.packb([seed("request id", 16), b"x" * 300]))},
        {"name": "map", "packed": h(umsgpack.packb({"n": 20000}))},
        {"name": "ints", "packed": h(umsgpack.packb([0, 127, 128, 255, 256, 65535, 65536, 2**32, -1, -32, -33, -129, -40000, -2**40]))},
        {"name": "strings", "packed": h(umsgpack.packb(["", "a" * 31, "b" * 32, "c" * 256, b"", b"d" * 256, b"e" * 300]))},
        {"name": "hashmap update", "packed": h(umsgpack.packb([3, seed("hm", 32) * 9]))},
    ]
    out["path"] = "/page/index.mu"
    out["path_hash"] = h(path_hash)

    advs = []
    for name, q, f, n in (("plain", None, 0x01, 100), ("split", None, 0x05, 20),
                          ("response", seed("request id", 16), 0x11, 3),
                          ("compressed request", seed("request id", 16), 0x0b, 74)):
        a = RNS.ResourceAdvertisement()
        a.t = 464 * n - 17
        a.d = 1048575 * 2 + 10 if f & 0x04 else 464 * n - 60
        a.n = n
        a.h = seed("resource hash " + name)
        a.r = seed("random " + name, 4)
        a.o = seed("original " + name)
        a.m = b"".join(seed("map %d" % i, 4) for i in range(n))
        a.i = 1
        a.l = 3 if f & 0x04 else 1
        a.q = q
        a.f = f
        advs.append({"name": name, "packed": h(a.pack()), "t": a.t, "d": a.d, "n": a.n, "h": h(a.h), "r": h(a.r),
                     "o": h(a.o), "i": a.i, "l": a.l, "q": h(q) if q else "", "f": f,
                     "m": h(a.m[:min(n, RNS.ResourceAdvertisement.HASHMAP_MAX_LEN) * 4])})
    out["advertisements"] = advs
    text = b"reticle compressible payload " * 4000
    out["bz2"] = {"plain_sha256": hashlib.sha256(text).hexdigest(), "plain_size": len(text),
                  "compressed": h(bz2.compress(text)),
                  "bomb": h(bz2.compress(bytes(8 * 1024 * 1024)))}
    out["hashmap_max_len"] = RNS.ResourceAdvertisement.HASHMAP_MAX_LEN
    out["link_mdu"] = RNS.Link.MDU
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
