#!/usr/bin/env python3
"""Reticulum reference peer driven over stdin/stdout with JSON lines.

Started by the Go interop tests. It imports the stock Python reference (RNS)
and never reimplements it. Usage: rnspeer.py CONFIG_DIR APP ASPECT [--ratchets]

Commands (one JSON object per line on stdin):
  {"cmd": "announce", "app_data": HEX}
  {"cmd": "path", "dest": HEX}            -> {"event": "path", ...}
  {"cmd": "request_path", "dest": HEX}
  {"cmd": "send", "dest": HEX, "data": HEX, "id": N, "timeout": S}
                                          -> {"event": "receipt", "id": N, "status": ...}
  {"cmd": "link", "dest": HEX, "data": HEX, "id": N, "app": A, "aspect": B}
                                          -> link_established, link_receipt
  {"cmd": "quit"}
Events (stdout): ready, announce, packet, path, receipt, error.
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


class AnnounceHandler:
    def __init__(self):
        self.aspect_filter = None
        self.receive_path_responses = True

    def received_announce(self, destination_hash, announced_identity, app_data, announce_packet_hash, is_path_response):
        emit(event="announce", dest=destination_hash.hex(),
             identity=announced_identity.hash.hex() if announced_identity else "",
             app_data=(app_data or b"").hex(), hops=RNS.Transport.hops_to(destination_hash),
             path_response=bool(is_path_response))


def main():
    config_dir, app, aspect = sys.argv[1], sys.argv[2], sys.argv[3]
    ratchets = "--ratchets" in sys.argv[4:]
    def log_to_stderr(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_DEBUG, logdest=log_to_stderr)
    ident = RNS.Identity()
    dest = RNS.Destination(ident, RNS.Destination.IN, RNS.Destination.SINGLE, app, aspect)
    dest.set_proof_strategy(RNS.Destination.PROVE_ALL)
    if ratchets:
        # Announce a ratchet and refuse packets not encrypted to one, as
        # LXMF delivery destinations do.
        dest.enable_ratchets(config_dir + "/ratchets")
        dest.enforce_ratchets()

    def on_packet(data, packet):
        emit(event="packet", data=data.hex(), hops=packet.hops)

    dest.set_packet_callback(on_packet)

    def on_link(link):
        emit(event="link_incoming", link_id=link.link_id.hex())
        link.set_packet_callback(lambda data, pkt: emit(event="link_packet", data=data.hex(), link_id=link.link_id.hex()))

    dest.set_link_established_callback(on_link)
    RNS.Transport.register_announce_handler(AnnounceHandler())
    emit(event="ready", dest=dest.hash.hex(), identity=ident.hash.hex(),
         transport_id=RNS.Transport.identity.hash.hex() if RNS.Transport.identity else "")

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            c = cmd.get("cmd")
            if c == "announce":
                dest.announce(app_data=bytes.fromhex(cmd.get("app_data", "")) or None)
                emit(event="announced")
            elif c == "path":
                h = bytes.fromhex(cmd["dest"])
                has = RNS.Transport.has_path(h)
                emit(event="path", dest=cmd["dest"], has=has,
                     hops=RNS.Transport.hops_to(h) if has else -1,
                     next_hop=RNS.Transport.next_hop(h).hex() if has and RNS.Transport.next_hop(h) else "")
            elif c == "request_path":
                RNS.Transport.request_path(bytes.fromhex(cmd["dest"]))
                emit(event="path_requested", dest=cmd["dest"])
            elif c == "send":
                h = bytes.fromhex(cmd["dest"])
                rid = cmd.get("id", 0)
                remote = RNS.Identity.recall(h)
                if remote is None:
                    emit(event="error", id=rid, error="unknown destination")
                    continue
                out = RNS.Destination(remote, RNS.Destination.OUT, RNS.Destination.SINGLE, cmd["app"], cmd["aspect"])
                pkt = RNS.Packet(out, bytes.fromhex(cmd["data"]))
                receipt = pkt.send()
                if not receipt:
                    emit(event="receipt", id=rid, status="not_sent")
                    continue
                # The proof can arrive before the callbacks are set (loopback
                # is fast), so report through a once-guard and re-check.
                once = {"done": False}
                once_lock = threading.Lock()

                def conclude(r, status, rid=rid, once=once, once_lock=once_lock):
                    with once_lock:
                        if once["done"]:
                            return
                        once["done"] = True
                    ev = dict(event="receipt", id=rid, status=status)
                    if status == "delivered":
                        ev["rtt"] = r.get_rtt()
                    emit(**ev)

                receipt.set_timeout(float(cmd.get("timeout", 10)))
                receipt.set_delivery_callback(lambda r: conclude(r, "delivered"))
                receipt.set_timeout_callback(lambda r: conclude(r, "failed"))
                emit(event="sent", id=rid, hash=pkt.packet_hash.hex())
                if receipt.get_status() == RNS.PacketReceipt.DELIVERED:
                    conclude(receipt, "delivered")
            elif c == "link":
                h = bytes.fromhex(cmd["dest"])
                rid = cmd.get("id", 0)
                remote = RNS.Identity.recall(h)
                if remote is None:
                    emit(event="error", id=rid, error="unknown destination")
                    continue
                out = RNS.Destination(remote, RNS.Destination.OUT, RNS.Destination.SINGLE, cmd["app"], cmd["aspect"])
                payload = bytes.fromhex(cmd["data"])

                def established(link, rid=rid, payload=payload):
                    emit(event="link_established", id=rid, rtt=link.rtt)
                    receipt = RNS.Packet(link, payload).send()
                    if receipt:
                        receipt.set_timeout(10)
                        receipt.set_delivery_callback(lambda r: emit(event="link_receipt", id=rid, status="delivered"))
                        receipt.set_timeout_callback(lambda r: emit(event="link_receipt", id=rid, status="failed"))

                RNS.Link(out, established_callback=established,
                         closed_callback=lambda link, rid=rid: emit(event="link_closed", id=rid))
                emit(event="link_requested", id=rid)
            elif c == "quit":
                break
            else:
                emit(event="error", error="unknown command " + str(c))
        except Exception as e:  # report and keep serving
            emit(event="error", error=repr(e))
    RNS.exit()


if __name__ == "__main__":
    main()
