#!/usr/bin/env python3
"""LXMF reference peer driven over stdin/stdout with JSON lines.

Started by the Go LXMF interop tests. It imports the stock Python reference
(LXMF 1.2.1 on RNS 1.5.7) and never reimplements it.
Usage: lxmfpeer.py CONFIG_DIR STORAGE_DIR DISPLAY_NAME [STAMP_COST]

Commands (one JSON object per line on stdin):
  {"cmd": "announce"}
  {"cmd": "request_path", "dest": HEX}
  {"cmd": "send", "to": HEX, "title": S, "content": S, "id": N, "method": "opportunistic"|"direct",
   "attachment_size": BYTES}            (optional: a file attachment of that many pseudo-random bytes)
        -> {"event": "send_queued", "id": N, "hash": HEX} then
           {"event": "send_state", "id": N, "hash": HEX, "state": "delivered"|"failed", "attempts": N}
        or {"event": "error", "id": N, "error": S} when the recipient is unknown
  {"cmd": "quit"}
Events (stdout): ready, announce, message, send_queued, send_state, error.
"""
import json
import sys
import threading
import time

import RNS
import LXMF

out_lock = threading.Lock()


def emit(**ev):
    with out_lock:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()


class AnnounceHandler:
    def __init__(self):
        self.aspect_filter = "lxmf.delivery"
        self.receive_path_responses = True

    def received_announce(self, destination_hash, announced_identity, app_data, announce_packet_hash=None, is_path_response=False):
        emit(event="announce", dest=destination_hash.hex(),
             display_name=LXMF.display_name_from_app_data(app_data) or "",
             stamp_cost=LXMF.stamp_cost_from_app_data(app_data),
             hops=RNS.Transport.hops_to(destination_hash), path_response=bool(is_path_response))


STATES = {
    LXMF.LXMessage.DELIVERED: "delivered",
    LXMF.LXMessage.FAILED: "failed",
    LXMF.LXMessage.SENT: "sent",
}


def main():
    config_dir, storage_dir, name = sys.argv[1], sys.argv[2], sys.argv[3]
    stamp_cost = int(sys.argv[4]) if len(sys.argv) > 4 else None

    def log_to_stderr(line):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    RNS.Reticulum(configdir=config_dir, loglevel=RNS.LOG_DEBUG, logdest=log_to_stderr)
    # delivery_limit (KB) raised so the tests can send 5 MiB attachments.
    router = LXMF.LXMRouter(storagepath=storage_dir, enforce_stamps=stamp_cost is not None, delivery_limit=16000)
    ident = RNS.Identity()
    dest = router.register_delivery_identity(ident, display_name=name, stamp_cost=stamp_cost)

    def on_message(m):
        atts = (m.fields or {}).get(LXMF.FIELD_FILE_ATTACHMENTS) or []
        f = m.fields or {}
        img = f.get(LXMF.FIELD_IMAGE)
        aud = f.get(LXMF.FIELD_AUDIO)
        emit(event="message", attachments=[[a[0] if isinstance(a[0], str) else a[0].decode(), len(a[1])] for a in atts],
             image=[img[0] if isinstance(img[0], str) else img[0].decode(), bytes(img[1]).hex()] if img else None,
             audio=[aud[0], bytes(aud[1]).hex()] if aud else None, hash=m.hash.hex(), source=m.source_hash.hex(), dest=m.destination_hash.hex(),
             title=m.title_as_string(), content=m.content_as_string(),
             signature_validated=bool(m.signature_validated),
             unverified_reason=m.unverified_reason, method=m.method,
             stamp_valid=bool(m.stamp_valid), timestamp=m.timestamp)

    router.register_delivery_callback(on_message)
    RNS.Transport.register_announce_handler(AnnounceHandler())
    emit(event="ready", address=dest.hash.hex(), identity=ident.hash.hex())

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            c = cmd.get("cmd")
            if c == "announce":
                router.announce(dest.hash)
            elif c == "request_path":
                RNS.Transport.request_path(bytes.fromhex(cmd["dest"]))
            elif c == "send":
                send(router, dest, cmd)
            elif c == "quit":
                break
        except Exception as e:  # report, keep serving
            emit(event="error", id=cmd.get("id") if isinstance(cmd, dict) else None, error=str(e))
    router.exit_handler()


def send(router, source, cmd):
    to = bytes.fromhex(cmd["to"])
    n = cmd.get("id")
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
    method = LXMF.LXMessage.DIRECT if cmd.get("method") == "direct" else LXMF.LXMessage.OPPORTUNISTIC
    fields = None
    if cmd.get("attachment_size"):
        blob = (b"reticle-attachment-" * (cmd["attachment_size"] // 19 + 1))[:cmd["attachment_size"]]
        fields = {LXMF.FIELD_FILE_ATTACHMENTS: [["blob.bin", blob]]}
    if cmd.get("media"):
        fields = fields or {}
        fields[LXMF.FIELD_FILE_ATTACHMENTS] = [["notes.txt", b"file from python"]]
        fields[LXMF.FIELD_IMAGE] = ["png", b"\x89PNG\r\n\x1a\n" + bytes(range(64))]
        fields[LXMF.FIELD_AUDIO] = [LXMF.AM_OPUS_OGG, b"OggS" + bytes(range(32))]
    m = LXMF.LXMessage(out, source, cmd.get("content", ""), cmd.get("title", ""), fields=fields, desired_method=method)

    def state(msg):
        emit(event="send_state", id=n, hash=msg.hash.hex() if msg.hash else "", state=STATES.get(msg.state, str(msg.state)),
             method=msg.method, attempts=msg.delivery_attempts)

    m.register_delivery_callback(state)
    m.register_failed_callback(state)
    router.handle_outbound(m)
    emit(event="send_queued", id=n, hash=m.hash.hex() if m.hash else "")


if __name__ == "__main__":
    main()
