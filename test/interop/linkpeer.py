#!/usr/bin/env python3
"""Reticulum reference link peer driven over stdin/stdout with JSON lines.

Started by the Go link interop tests (link_*_test.go). It imports the stock
Python reference (RNS) and only drives its public API.
Usage: linkpeer.py CONFIG_DIR APP ASPECT

The peer's destination proves all packets (PROVE_ALL). It serves "/echo" (returns the request data) and "/big" (returns
data["n"] random bytes) and accepts every resource. Payload contents are
reported by size and SHA-256 only.

Commands (one JSON object per line on stdin):
  {"cmd": "announce"}
  {"cmd": "link", "dest": HEX, "app": A, "aspect": B}     -> link_established | link_closed
  {"cmd": "request", "id": N, "path": P, "data": HEX, "timeout": S}
                                                          -> response {id, data|sha256, size} | request_failed
  {"cmd": "resource", "id": N, "size": N, "compressible": bool, "compress": bool}
                                                          -> resource_sent {id, sha256, compressed}, resource_done {id, status}
  {"cmd": "send", "id": N, "data": HEX, "timeout": S}     -> packet_receipt {id, status}
  {"cmd": "identify"}
  {"cmd": "close"}
Events: ready, announce, link_incoming, link_established, link_closed, resource_received,
resource_done, response, request_failed, error.
"""
import hashlib
import json
import os
import sys
import threading
import time

import RNS

out_lock = threading.Lock()
state = {"link": None}


def emit(**ev):
    with out_lock:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def resource_received(resource):
    status = "complete" if resource.status == RNS.Resource.COMPLETE else "failed"
    ev = dict(event="resource_received", status=status, compressed=bool(resource.compressed))
    if status == "complete":
        data = resource.data.read()
        ev.update(size=len(data), sha256=sha(data), time=time.time())
    emit(**ev)


class AnnounceHandler:
    def __init__(self):
        self.aspect_filter = None
        self.receive_path_responses = True

    def received_announce(self, destination_hash, announced_identity, app_data, announce_packet_hash, is_path_response):
        emit(event="announce", dest=destination_hash.hex(), hops=RNS.Transport.hops_to(destination_hash),
             identity=announced_identity.hash.hex() if announced_identity else "")


def setup_link(link):
    link.set_resource_strategy(RNS.Link.ACCEPT_ALL)
    link.set_resource_concluded_callback(resource_received)
    link.set_link_closed_callback(lambda l: emit(event="link_closed", link_id=l.link_id.hex(),
                                                  reason=getattr(l, "teardown_reason", 0)))
    link.set_remote_identified_callback(lambda l, ident: emit(event="identified", identity=ident.hash.hex()))
    link.set_packet_callback(lambda data, pkt: emit(event="link_packet", data=data.hex()))
    state["link"] = link


def main():
    config_dir, app, aspect = sys.argv[1], sys.argv[2], sys.argv[3]

    def log_to_stderr(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_DEBUG, logdest=log_to_stderr)
    ident = RNS.Identity()
    dest = RNS.Destination(ident, RNS.Destination.IN, RNS.Destination.SINGLE, app, aspect)
    dest.set_proof_strategy(RNS.Destination.PROVE_ALL)

    def echo(path, data, request_id, link_id, remote_identity, requested_at):
        return data

    def big(path, data, request_id, link_id, remote_identity, requested_at):
        return os.urandom(int(data["n"]))

    dest.register_request_handler("/echo", response_generator=echo, allow=RNS.Destination.ALLOW_ALL)
    dest.register_request_handler("/big", response_generator=big, allow=RNS.Destination.ALLOW_ALL)

    def incoming(link):
        setup_link(link)
        emit(event="link_incoming", link_id=link.link_id.hex())

    dest.set_link_established_callback(incoming)
    RNS.Transport.register_announce_handler(AnnounceHandler())
    emit(event="ready", dest=dest.hash.hex(), identity=ident.hash.hex())

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            c = cmd.get("cmd")
            link = state["link"]
            if c == "announce":
                dest.announce(app_data=b"linkpeer")
                emit(event="announced")
            elif c == "link":
                h = bytes.fromhex(cmd["dest"])
                remote = RNS.Identity.recall(h)
                if remote is None:
                    emit(event="error", error="unknown destination")
                    continue
                out = RNS.Destination(remote, RNS.Destination.OUT, RNS.Destination.SINGLE, cmd["app"], cmd["aspect"])

                def established(l):
                    setup_link(l)
                    emit(event="link_established", link_id=l.link_id.hex(), rtt=l.rtt, mtu=l.mtu)

                RNS.Link(out, established_callback=established,
                         closed_callback=lambda l: emit(event="link_closed", link_id=l.link_id.hex(),
                                                        reason=getattr(l, "teardown_reason", 0)))
            elif c == "request":
                rid = cmd["id"]
                data = bytes.fromhex(cmd.get("data", ""))

                def on_response(receipt, rid=rid):
                    r = receipt.response
                    if isinstance(r, (bytes, bytearray)):
                        emit(event="response", id=rid, size=len(r), sha256=sha(bytes(r)),
                             data=bytes(r).hex() if len(r) <= 256 else "")
                    else:
                        emit(event="response", id=rid, value=repr(r))

                link.request(cmd["path"], data=data, response_callback=on_response,
                             failed_callback=lambda receipt, rid=rid: emit(event="request_failed", id=rid),
                             timeout=float(cmd.get("timeout", 15)))
            elif c == "resource":
                rid = cmd["id"]
                n = int(cmd["size"])
                if cmd.get("compressible"):
                    data = (b"reticle compressible payload " * (n // 29 + 1))[:n]
                else:
                    data = os.urandom(n)

                def done(resource, rid=rid):
                    names = {RNS.Resource.COMPLETE: "complete", RNS.Resource.FAILED: "failed",
                             RNS.Resource.REJECTED: "rejected", RNS.Resource.CORRUPT: "corrupt"}
                    emit(event="resource_done", id=rid, status=names.get(resource.status, str(resource.status)))

                started = time.time()
                res = RNS.Resource(data, link, callback=done, auto_compress=bool(cmd.get("compress", True)))
                emit(event="resource_sent", id=rid, time=started, size=n, sha256=sha(data), compressed=bool(res.compressed))
            elif c == "send":
                rid = cmd["id"]
                receipt = RNS.Packet(link, bytes.fromhex(cmd["data"])).send()
                if not receipt:
                    emit(event="packet_receipt", id=rid, status="not_sent")
                    continue
                once = {"done": False}
                once_lock = threading.Lock()

                def conclude(status, rid=rid, once=once, once_lock=once_lock):
                    with once_lock:
                        if once["done"]:
                            return
                        once["done"] = True
                    emit(event="packet_receipt", id=rid, status=status)

                receipt.set_timeout(float(cmd.get("timeout", 10)))
                receipt.set_delivery_callback(lambda r: conclude("delivered"))
                receipt.set_timeout_callback(lambda r: conclude("failed"))
                if receipt.get_status() == RNS.PacketReceipt.DELIVERED:
                    conclude("delivered")
            elif c == "identify":
                link.identify(ident)
                emit(event="identify_sent", identity=ident.hash.hex())
            elif c == "close":
                link.teardown()
            elif c == "quit":
                break
            else:
                emit(event="error", error="unknown command " + str(c))
        except Exception as e:  # report and keep serving
            emit(event="error", error=repr(e))
    RNS.exit()


if __name__ == "__main__":
    main()
