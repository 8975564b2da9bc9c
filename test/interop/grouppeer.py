#!/usr/bin/env python3
"""Reticulum reference GROUP and PLAIN peer driven over stdin/stdout with JSON lines.

Started by the Go interop tests (group_plain_interop_test.go). It imports the
stock Python reference (RNS) and never reimplements it.

Usage: grouppeer.py CONFIG_DIR APP GROUP_PUBLIC_KEY_HEX GROUP_KEY_HEX

It registers IN destinations APP.group (GROUP, the given identity public key
and symmetric key) and APP.plain (PLAIN), and sends through OUT destinations
with the same names, identity and key.

Commands (one JSON object per line on stdin):
  {"cmd": "send_group", "data": HEX}      -> {"event": "sent", "kind": "group", ...}
  {"cmd": "send_plain", "data": HEX}      -> {"event": "sent", "kind": "plain", ...}
  {"cmd": "announce_plain"}               -> {"event": "announce_refused", ...} or error
  {"cmd": "quit"}
Events (stdout): ready, packet (kind, data, hops), sent, announce_refused, error.
"""
import json
import sys
import threading

import RNS

out_lock = threading.Lock()


def emit(**ev):
    with out_lock:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()


def main():
    config_dir, app = sys.argv[1], sys.argv[2]
    group_pub, group_key = bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])

    def log_to_stderr(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_DEBUG, logdest=log_to_stderr)

    gid = RNS.Identity(create_keys=False)
    gid.load_public_key(group_pub)

    group_in = RNS.Destination(gid, RNS.Destination.IN, RNS.Destination.GROUP, app, "group")
    group_in.load_private_key(group_key)
    group_out = RNS.Destination(gid, RNS.Destination.OUT, RNS.Destination.GROUP, app, "group")
    group_out.load_private_key(group_key)
    plain_in = RNS.Destination(None, RNS.Destination.IN, RNS.Destination.PLAIN, app, "plain")
    plain_out = RNS.Destination(None, RNS.Destination.OUT, RNS.Destination.PLAIN, app, "plain")

    group_in.set_packet_callback(lambda data, pkt: emit(event="packet", kind="group", data=data.hex(), hops=pkt.hops))
    plain_in.set_packet_callback(lambda data, pkt: emit(event="packet", kind="plain", data=data.hex(), hops=pkt.hops))

    emit(event="ready", group=group_in.hash.hex(), plain=plain_in.hash.hex())

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            c = cmd.get("cmd")
            if c == "send_group":
                pkt = RNS.Packet(group_out, bytes.fromhex(cmd["data"]))
                ok = pkt.send()
                emit(event="sent", kind="group", ok=bool(ok), hash=pkt.packet_hash.hex())
            elif c == "send_plain":
                pkt = RNS.Packet(plain_out, bytes.fromhex(cmd["data"]), create_receipt=False)
                ok = pkt.send()
                emit(event="sent", kind="plain", ok=ok is not False, hash=pkt.packet_hash.hex())
            elif c == "announce_plain":
                try:
                    plain_in.announce()
                    emit(event="error", error="plain announce accepted")
                except TypeError as e:
                    emit(event="announce_refused", error=str(e))
            elif c == "quit":
                break
            else:
                emit(event="error", error="unknown command " + str(c))
        except Exception as e:  # report and keep serving
            emit(event="error", error=repr(e))
    RNS.exit()


if __name__ == "__main__":
    main()
