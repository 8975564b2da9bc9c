#!/usr/bin/env python3
"""LXMF propagation reference peer driven over stdin/stdout with JSON lines.

Started by the Go propagation interop tests (prop_*_test.go). It imports the
stock Python reference (LXMF 1.2.1 on RNS 1.5.7) and never reimplements it.
Usage: proppeer.py CONFIG_DIR STORAGE_DIR DISPLAY_NAME [serve]
With "serve" the router hosts a propagation node (stamp cost 13, the
reference's minimum) and announces it.

Commands (one JSON object per line on stdin):
  {"cmd": "announce"}                       delivery announce
  {"cmd": "announce_pn"}                    propagation node announce (serve only)
  {"cmd": "request_path", "dest": HEX}
  {"cmd": "set_node", "node": HEX}          outbound propagation node
  {"cmd": "send", "to": HEX, "title": S, "content": S, "id": N}   propagated
        -> {"event": "send_queued", "id": N, "hash": HEX} then
           {"event": "send_state", "id": N, "hash": HEX, "state": "sent"|"failed"|...}
  {"cmd": "sync"}  -> {"event": "sync_state", "state": INT, "name": S, "result": N}
  {"cmd": "quit"}
Events (stdout): ready, announce, pn_announce, message, send_queued, send_state, sync_state, error.
"""
import json
import sys
import threading
import time

import RNS
import LXMF
from LXMF import LXStamper

# The reference's Linux stamp generator forks worker processes from this
# multi-threaded driver, and the forked workers can hang (it logs "possible
# worker deadlock" only when they finish). Use the reference's own
# single-process generator (job_simple, its fallback on other platforms).
LXStamper.job_linux = LXStamper.job_simple
LXStamper.job_linux_managed = LXStamper.job_simple

out_lock = threading.Lock()


def emit(**ev):
    with out_lock:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()


class DeliveryAnnounces:
    def __init__(self):
        self.aspect_filter = "lxmf.delivery"
        self.receive_path_responses = True

    def received_announce(self, destination_hash, announced_identity, app_data, announce_packet_hash=None, is_path_response=False):
        emit(event="announce", dest=destination_hash.hex(), display_name=LXMF.display_name_from_app_data(app_data) or "")


class PropagationAnnounces:
    def __init__(self):
        self.aspect_filter = "lxmf.propagation"
        self.receive_path_responses = True

    def received_announce(self, destination_hash, announced_identity, app_data, announce_packet_hash=None, is_path_response=False):
        valid = LXMF.pn_announce_data_is_valid(app_data)
        emit(event="pn_announce", dest=destination_hash.hex(), valid=bool(valid))


STATES = {
    LXMF.LXMessage.DELIVERED: "delivered",
    LXMF.LXMessage.FAILED: "failed",
    LXMF.LXMessage.SENT: "sent",
    LXMF.LXMessage.REJECTED: "rejected",
}

SYNC_NAMES = {
    LXMF.LXMRouter.PR_IDLE: "idle", LXMF.LXMRouter.PR_PATH_REQUESTED: "path_requested",
    LXMF.LXMRouter.PR_LINK_ESTABLISHING: "link_establishing", LXMF.LXMRouter.PR_LINK_ESTABLISHED: "link_established",
    LXMF.LXMRouter.PR_REQUEST_SENT: "request_sent", LXMF.LXMRouter.PR_RECEIVING: "receiving",
    LXMF.LXMRouter.PR_RESPONSE_RECEIVED: "response_received", LXMF.LXMRouter.PR_COMPLETE: "complete",
    LXMF.LXMRouter.PR_NO_PATH: "no_path", LXMF.LXMRouter.PR_LINK_FAILED: "link_failed",
    LXMF.LXMRouter.PR_TRANSFER_FAILED: "transfer_failed", LXMF.LXMRouter.PR_NO_IDENTITY_RCVD: "no_identity",
    LXMF.LXMRouter.PR_NO_ACCESS: "no_access", LXMF.LXMRouter.PR_FAILED: "failed",
}


def main():
    config_dir, storage_dir, name = sys.argv[1], sys.argv[2], sys.argv[3]
    serve = len(sys.argv) > 4 and sys.argv[4] == "serve"

    def log_to_stderr(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_DEBUG, logdest=log_to_stderr)
    router = LXMF.LXMRouter(storagepath=storage_dir, name=name, propagation_cost=13, autopeer=False)
    ident = RNS.Identity()
    dest = router.register_delivery_identity(ident, display_name=name)

    def on_message(m):
        emit(event="message", hash=m.hash.hex(), source=m.source_hash.hex(), dest=m.destination_hash.hex(),
             title=m.title_as_string(), content=m.content_as_string(),
             signature_validated=bool(m.signature_validated), method=m.method)

    router.register_delivery_callback(on_message)
    RNS.Transport.register_announce_handler(DeliveryAnnounces())
    RNS.Transport.register_announce_handler(PropagationAnnounces())
    pn = ""
    if serve:
        router.enable_propagation()
        pn = router.propagation_destination.hash.hex()
    emit(event="ready", address=dest.hash.hex(), identity=ident.hash.hex(), propagation=pn)

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = None
        try:
            cmd = json.loads(line)
            c = cmd.get("cmd")
            if c == "announce":
                router.announce(dest.hash)
            elif c == "announce_pn":
                router.propagation_destination.announce(app_data=router.get_propagation_node_app_data())
            elif c == "request_path":
                RNS.Transport.request_path(bytes.fromhex(cmd["dest"]))
            elif c == "set_node":
                router.set_outbound_propagation_node(bytes.fromhex(cmd["node"]))
            elif c == "send":
                threading.Thread(target=send, args=(router, dest, cmd), daemon=True).start()
            elif c == "sync":
                threading.Thread(target=sync, args=(router, ident), daemon=True).start()
            elif c == "quit":
                break
        except Exception as e:  # report, keep serving
            emit(event="error", id=cmd.get("id") if isinstance(cmd, dict) else None, error=str(e))
    router.exit_handler()


def send(router, source, cmd):
    n = cmd.get("id")
    try:
        to = bytes.fromhex(cmd["to"])
        recipient = RNS.Identity.recall(to)
        if recipient is None:
            RNS.Transport.request_path(to)
            deadline = time.time() + 10
            while recipient is None and time.time() < deadline:
                time.sleep(0.1)
                recipient = RNS.Identity.recall(to)
        if recipient is None:
            emit(event="error", id=n, error="recipient identity unknown")
            return
        out = RNS.Destination(recipient, RNS.Destination.OUT, RNS.Destination.SINGLE, "lxmf", "delivery")
        m = LXMF.LXMessage(out, source, cmd.get("content", ""), cmd.get("title", ""), desired_method=LXMF.LXMessage.PROPAGATED)

        def state(msg):
            emit(event="send_state", id=n, hash=msg.hash.hex() if msg.hash else "", state=STATES.get(msg.state, str(msg.state)), method=msg.method)

        m.register_delivery_callback(state)
        m.register_failed_callback(state)
        router.handle_outbound(m)
        emit(event="send_queued", id=n, hash=m.hash.hex() if m.hash else "")
    except Exception as e:
        emit(event="error", id=n, error=str(e))


def sync(router, ident):
    router.request_messages_from_propagation_node(ident)
    deadline = time.time() + 60
    st = router.propagation_transfer_state
    while time.time() < deadline:
        st = router.propagation_transfer_state
        if st == LXMF.LXMRouter.PR_COMPLETE or st >= LXMF.LXMRouter.PR_NO_PATH:
            break
        time.sleep(0.1)
    emit(event="sync_state", state=st, name=SYNC_NAMES.get(st, str(st)), result=router.propagation_transfer_last_result)
    router.acknowledge_sync_completion()


if __name__ == "__main__":
    main()
