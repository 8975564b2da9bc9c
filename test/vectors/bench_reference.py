#!/usr/bin/env python3
"""Time the Python reference (rns 1.5.7) on the work pkg/rns/{wire,identity} benchmarks measure.

    python3 test/vectors/bench_reference.py [N]      (default N = 2000)

Prints microseconds per operation. Compare with
    go test -run '^$' -bench . ./pkg/rns/wire ./pkg/rns/identity
"""
import os
import sys
import tempfile
import time

import RNS


def timed(label, n, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<28} {dt / n * 1e6:10.1f} us/op wall {dc / n * 1e6:10.1f} us/op cpu  ({n / dc:9.0f} op/s cpu)")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    cfg = tempfile.mkdtemp()
    with open(os.path.join(cfg, "config"), "w") as f:
        f.write("[reticulum]\n  enable_transport = No\n  share_instance = No\n[logging]\n  loglevel = 0\n[interfaces]\n")
    RNS.Reticulum(configdir=cfg, loglevel=0)
    print(f"rns {RNS.__version__}, crypto backend {RNS.Cryptography.Provider.backend()}, n={n}")

    ident = RNS.Identity()
    dest = RNS.Destination(ident, RNS.Destination.IN, RNS.Destination.SINGLE, "lxmf", "delivery")
    ann = dest.announce(app_data=b"\x93\xa8Vector 1\x08\x90", send=False)
    ann.pack()
    raw = ann.raw

    def validate():
        p = RNS.Packet(None, raw)
        p.unpack()
        assert RNS.Identity.validate_announce(p)

    timed("validate_announce (+unpack)", n, validate)
    timed("announce build (send=False)", n, lambda: dest.announce(app_data=b"bench", send=False).pack())

    msg = bytes(256)
    tok = ident.encrypt(msg)
    timed("encrypt 256 B", n, lambda: ident.encrypt(msg))
    timed("decrypt 256 B", n, lambda: ident.decrypt(tok))

    m32 = bytes(32)
    sig = ident.sign(m32)
    timed("sign 32 B", n, lambda: ident.sign(m32))
    timed("verify 32 B", n, lambda: ident.validate(sig, m32))

    class Stub:
        def __init__(self):
            self.hash = bytes(16); self.type = RNS.Destination.PLAIN; self.mtu = 500
        def encrypt(self, p): return p
    big = RNS.Packet(Stub(), bytes(481), create_receipt=False)
    big.pack()
    braw = big.raw
    def unpack():
        p = RNS.Packet(None, braw)
        p.unpack()
    timed("packet unpack 500 B (+hash)", n * 10, unpack)
    timed("packet pack 500 B (+hash)", n * 10, big.pack)


if __name__ == "__main__":
    main()
