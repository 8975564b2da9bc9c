#!/usr/bin/env python3
"""Measures the Python reference's inbound packet and announce processing
rates, for comparison with `go test -bench . ./pkg/rns/transport`.

Usage: bench_reference.py CONFIG_DIR   (a config without interfaces)
It drives RNS.Transport.inbound synchronously (inbound queue off) with
unique DATA packets for a non-local destination, and with announces of
distinct destinations.
"""
import os
import struct
import sys
import time

import RNS


def main():
    config_dir = sys.argv[1]
    with open(os.path.join(config_dir, "config"), "w") as f:
        f.write("[reticulum]\n  enable_transport = Yes\n  share_instance = No\n[logging]\n  loglevel = 2\n[interfaces]\n")
    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_ERROR)
    RNS.Transport.USE_INBOUND_QUEUE = False

    class NullInterface(RNS.Interfaces.Interface.Interface):
        def __init__(self):
            super().__init__()
            self.name, self.online, self.IN, self.OUT = "null", True, True, True
            self.HW_MTU, self.bitrate = 262144, 10_000_000
            self.mode = RNS.Interfaces.Interface.Interface.MODE_FULL
            self.ingress_control = False
            self.announce_rate_target = None
            self.ifac_size = None
            self.ifac_identity = None

        def process_outgoing(self, data):
            pass

        def __str__(self):
            return "NullInterface"

    iface = NullInterface()
    RNS.Transport.interfaces.append(iface)
    # Data: unique packets to a destination that is not local.
    n = 50000
    base = bytes([0x00, 0x00]) + bytes(16) + bytes([0x00]) + bytes(200)
    frames = [base[:19] + struct.pack(">Q", i) + base[27:] for i in range(n)]
    t0 = time.perf_counter()
    for raw in frames:
        RNS.Transport.inbound(raw, iface)
    dt = time.perf_counter() - t0
    print(f"reference inbound data: {n/dt:.0f} packets/s ({dt/n*1e6:.1f} us/packet)")
    # Announces of distinct destinations.
    m = 1000
    raws = []
    for _ in range(m):
        ident = RNS.Identity()
        d = RNS.Destination(ident, RNS.Destination.IN, RNS.Destination.SINGLE, "bench", "announce")
        p = d.announce(app_data=b"bench", send=False)
        p.pack()
        raws.append(p.raw)
        RNS.Transport.deregister_destination(d)
    t0 = time.perf_counter()
    for raw in raws:
        RNS.Transport.inbound(raw, iface)
    dt = time.perf_counter() - t0
    print(f"reference announce processing: {m/dt:.0f} announces/s ({dt/m*1e6:.0f} us/announce), paths learned: {len(RNS.Transport.path_table)}")
    os._exit(0)


if __name__ == "__main__":
    main()
