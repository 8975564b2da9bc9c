#!/usr/bin/env python3
"""Writes auto-vectors.json: the reference AutoInterface's multicast discovery
address and discovery token for some group ids and link-local addresses.

It runs the stock RNS AutoInterface (rns 1.5.7) with no usable device and
captures what peer_announce() would send; nothing is reimplemented here.
Usage: python3 auto_vectors.py > auto-vectors.json
"""
import json
import os
import socket
import sys
import tempfile

import RNS
from RNS.Interfaces.AutoInterface import AutoInterface
from RNS.vendor.configobj import ConfigObj

CASES = [
    ("reticulum", ["fe80::70fa:89ff:fec3:6fb2"]),
    ("home-lab", ["fe80::1", "fe80::2c1b:5dff:fe2a:4037"]),
    ("Zürich mesh", ["fe80::a:b:c:d"]),
]


class CaptureSocket:
    sent = []

    def __init__(self, *args, **kwargs):
        pass

    def setsockopt(self, *args):
        pass

    def sendto(self, data, addr):
        CaptureSocket.sent.append((data, addr))

    def close(self):
        pass


def main():
    cfgdir = tempfile.mkdtemp()
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write("[reticulum]\n  share_instance = No\n\n[logging]\n  loglevel = 0\n\n[interfaces]\n")
    RNS.Reticulum(configdir=cfgdir, loglevel=0, logdest=lambda line: None)
    out = []
    for gid, addresses in CASES:
        c = ConfigObj()
        c["x"] = {"name": "x", "group_id": gid, "devices": ["reticle-none0"]}
        a = AutoInterface(RNS.Transport, c["x"])
        a.interface_name_to_index = lambda name: 1
        for lla in addresses:
            a.adopted_interfaces["veth"] = lla
            CaptureSocket.sent = []
            real = socket.socket
            socket.socket = CaptureSocket
            try:
                a.peer_announce("veth")
            finally:
                socket.socket = real
            data, addr = CaptureSocket.sent[0]
            out.append({"group_id": gid, "multicast_address": a.mcast_discovery_address,
                        "sent_to": addr[0], "discovery_port": a.discovery_port, "data_port": a.data_port,
                        "link_local_address": lla, "discovery_token": data.hex()})
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
