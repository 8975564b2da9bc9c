#!/usr/bin/env python3
"""Captures real MeshChatX messages as test vectors.

Runs the real MeshChatX server (the `meshchatx` CLI of reticulum-meshchatx,
headless, plain HTTP on loopback) and a capture receiver (RNS + LXMF) in
this process, connected by one TCP interface on 127.0.0.1. It drives
MeshChatX through its own HTTP API, as its web UI does (CSRF token from
/api/v1/auth/csrf, then POST /api/v1/lxmf-messages/send and
/api/v1/lxmf-messages/reactions), and records every message the receiver
gets: the packed bytes, the message id and the decoded fields.

Messages sent:
  plain_markdown   Markdown text
  file_and_image   text with a file attachment and a PNG image
  reply            a reply to plain_markdown that quotes it
  reaction         a reaction to plain_markdown

Usage (with the venv that has reticulum-meshchatx, rns and lxmf):
  /work/mcx-venv/bin/python test/interop/mcxcapture.py \
      > pkg/lxmf/testdata/meshchatx-4.10.7-messages.json
Options: --meshchatx PATH (the CLI; default: next to this python),
         --timeout SECONDS (bound for each wait; default 90).
Loopback only. Every wait is bounded; on any failure the script exits
non-zero and prints MeshChatX's log tail to stderr.
"""
import argparse
import http.cookiejar
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from importlib import metadata

import RNS
import LXMF
from RNS.vendor import umsgpack

LOOPBACK = "127.0.0.1"

FIELD_NAMES = {
    0x04: "icon_appearance",
    0x05: "file_attachments",
    0x06: "image",
    0x07: "audio",
    0x0C: "ticket",
    0x0F: "renderer",
    0x30: "reply_to",
    0x31: "reply_quote",
    0x40: "reaction",
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def tiny_png():
    """A valid 2x2 RGB PNG built here (MeshChatX checks the image magic)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes([200, 30, 30, 30, 200, 30]) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def jsonable(v):
    """Decoded field values as JSON: bytes become {"hex": ...}."""
    if isinstance(v, (bytes, bytearray)):
        return {"hex": bytes(v).hex()}
    if isinstance(v, dict):
        return [[jsonable(k), jsonable(x)] for k, x in v.items()]
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


class Receiver:
    """An LXMF delivery destination that records what arrives."""

    def __init__(self, workdir, port):
        cfg = os.path.join(workdir, "recv-rns")
        os.makedirs(cfg)
        with open(os.path.join(cfg, "config"), "w") as f:
            f.write(
                "[reticulum]\n  enable_transport = No\n  share_instance = No\n"
                "  panic_on_interface_error = Yes\n"
                "[logging]\n  loglevel = 2\n"
                "[interfaces]\n  [[capture server]]\n    type = TCPServerInterface\n"
                f"    enabled = Yes\n    listen_ip = {LOOPBACK}\n    listen_port = {port}\n"
            )
        self.rns = RNS.Reticulum(configdir=cfg, loglevel=RNS.LOG_ERROR)
        self.identity = RNS.Identity()
        self.router = LXMF.LXMRouter(storagepath=os.path.join(workdir, "recv-lxmf"))
        self.dest = self.router.register_delivery_identity(self.identity, display_name="Reticle capture")
        self.router.register_delivery_callback(self._delivered)
        self.lock = threading.Condition()
        self.got = []

    def _delivered(self, m):
        fields = m.fields or {}
        rec = {
            "packed": m.packed.hex(),
            "message_id": m.hash.hex(),
            "destination_hash": m.destination_hash.hex(),
            "source_hash": m.source_hash.hex(),
            "timestamp": m.timestamp,
            "title": m.title_as_string(),
            "content": m.content_as_string(),
            "delivered_method": {1: "opportunistic", 2: "direct"}.get(m.method, m.method),
            "field_order": list(fields.keys()),
            "fields_decoded": [[k, FIELD_NAMES.get(k, "other"), jsonable(v)] for k, v in fields.items()],
        }
        with self.lock:
            self.got.append(rec)
            self.lock.notify_all()

    def announce(self):
        self.router.announce(self.dest.hash)

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.got) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"message {n} did not arrive within {timeout}s")
                self.lock.wait(min(left, 1.0))
            return self.got[n - 1]


class MeshChatX:
    """The real MeshChatX server as a subprocess, driven over HTTP."""

    def __init__(self, exe, workdir, rns_port, identity_file):
        self.http_port = free_port()
        self.base = f"http://{LOOPBACK}:{self.http_port}"
        cfg = os.path.join(workdir, "mcx-rns")
        os.makedirs(cfg)
        with open(os.path.join(cfg, "config"), "w") as f:
            f.write(
                "[reticulum]\n  enable_transport = No\n  share_instance = No\n"
                "[logging]\n  loglevel = 4\n"
                "[interfaces]\n  [[capture link]]\n    type = TCPClientInterface\n"
                f"    enabled = Yes\n    target_host = {LOOPBACK}\n    target_port = {rns_port}\n"
            )
        self.log_path = os.path.join(workdir, "meshchatx.log")
        self.log = open(self.log_path, "wb")
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("MESHCHAT_"):
                del env[k]
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-https", "--host", LOOPBACK, "--port", str(self.http_port),
             "--storage-dir", os.path.join(workdir, "mcx-storage"), "--reticulum-config-dir", cfg,
             "--identity-file", identity_file, "--disable-plugins", "--no-crash-recovery"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def request(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf:
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.http.open(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"raw": raw[:300].decode("utf-8", "replace")}

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshchatx exited with {self.proc.returncode}")
            try:
                st, body = self.request("GET", "/api/v1/auth/status", timeout=5)
                last = (st, body)
                if st == 200 and body.get("network_ready", True) and body.get("status") != "starting":
                    break
            except (OSError, ValueError) as e:
                last = e
            time.sleep(1)
        else:
            raise TimeoutError(f"meshchatx not ready within {timeout}s: {last}")
        st, body = self.request("GET", "/api/v1/auth/csrf")
        if st != 200 or not body.get("csrf_token"):
            raise RuntimeError(f"csrf bootstrap failed: {st} {body}")
        self.csrf = body["csrf_token"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def signed_by(identity, packed, message_id):
    """Checks the LXMF signature (LXMessage.unpack_from_bytes: signed part =
    destination + source + payload without a stamp + message id)."""
    dest, src, sig = packed[:16], packed[16:32], packed[32:96]
    payload = umsgpack.unpackb(packed[96:])
    hashed = dest + src + umsgpack.packb(payload[:4])
    if RNS.Identity.full_hash(hashed) != message_id:
        return False
    return identity.validate(sig, hashed + message_id)


def send_until_accepted(mcx, recv, path, body, timeout):
    """POSTs until MeshChatX accepts it; it refuses until it has heard the
    receiver's announce (it must recall the destination identity and have a
    path), so the receiver announces again between attempts."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        st, resp = mcx.request("POST", path, body, timeout=60)
        if st == 200:
            return resp["lxmf_message"]
        last = (st, resp)
        if st not in (400, 503):
            break
        recv.announce()
        time.sleep(2)
    raise RuntimeError(f"{path} not accepted: {last}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meshchatx", default=os.path.join(os.path.dirname(sys.executable), "meshchatx"))
    ap.add_argument("--timeout", type=float, default=90)
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="mcxcapture-")
    mcx = None
    try:
        rns_port = free_port()
        recv = Receiver(workdir, rns_port)
        sender = RNS.Identity()
        id_file = os.path.join(workdir, "sender-identity")
        sender.to_file(id_file)
        sender_delivery = RNS.Destination.hash(sender, "lxmf", "delivery")

        mcx = MeshChatX(args.meshchatx, workdir, rns_port, id_file)
        mcx.wait_ready(args.timeout)
        recv.announce()
        to = recv.dest.hash.hex()

        png = tiny_png()
        note = "Captured by Reticle's test/interop/mcxcapture.py.\n".encode()
        plain = "**Hello** from _MeshChatX_: a `capture` test.\n\n- one\n- two"
        sends = [
            ("plain_markdown", "/api/v1/lxmf-messages/send", lambda got: {
                "delivery_method": "opportunistic",
                "lxmf_message": {"destination_hash": to, "content": plain, "fields": {}},
            }),
            ("file_and_image", "/api/v1/lxmf-messages/send", lambda got: {
                "delivery_method": "direct",
                "lxmf_message": {"destination_hash": to, "content": "A file and an image",
                                 "fields": {
                                     "file_attachments": [{"file_name": "notes.txt",
                                                           "file_bytes": _b64(note)}],
                                     "image": {"image_type": "png", "image_bytes": _b64(png)},
                                 }},
            }),
            ("reply", "/api/v1/lxmf-messages/send", lambda got: {
                "delivery_method": "opportunistic",
                "lxmf_message": {"destination_hash": to, "content": "Replying to that",
                                 "reply_to_hash": got["plain_markdown"]["message_id"],
                                 "reply_quoted_content": plain, "fields": {}},
            }),
            ("reaction", "/api/v1/lxmf-messages/reactions", lambda got: {
                "destination_hash": to,
                "target_message_hash": got["plain_markdown"]["message_id"],
                "emoji": "\U0001F44D",
            }),
        ]
        got = {}
        out = []
        for i, (name, path, body) in enumerate(sends, 1):
            sent = send_until_accepted(mcx, recv, path, body(got), args.timeout)
            rec = recv.wait_for(i, args.timeout)
            if rec["message_id"] != sent.get("hash"):
                raise RuntimeError(f"{name}: received {rec['message_id']}, MeshChatX sent {sent.get('hash')}")
            if not signed_by(sender, bytes.fromhex(rec["packed"]), bytes.fromhex(rec["message_id"])):
                raise RuntimeError(f"{name}: signature does not verify against the sender identity")
            rec = {"name": name, **rec, "signature_valid_for_sender": True}
            got[name] = rec
            out.append(rec)

        a = got["plain_markdown"]["message_id"]
        expect = {
            "plain_markdown": {"renderer": 2, "content": plain},
            "file_and_image": {"renderer": 2, "attachments": [{"name": "notes.txt", "data_hex": note.hex()}],
                               "image": {"type": "png", "data_hex": png.hex()}},
            "reply": {"renderer": 2, "reply_to": a, "reply_quote": plain},
            "reaction": {"reaction_to": a, "reaction_emoji": "\U0001F44D", "no_renderer": True},
        }
        for rec in out:
            rec["expect"] = expect[rec["name"]]

        doc = {
            "source": ("real MeshChatX server (meshchatx CLI, --headless --no-https) driven over its HTTP API "
                       "(/api/v1/lxmf-messages/send and /api/v1/lxmf-messages/reactions, CSRF as the web UI "
                       "does), captured by an RNS/LXMF receiver over a loopback TCP interface"),
            "generated_by": "test/interop/mcxcapture.py",
            "versions": {p: metadata.version(p) for p in ("reticulum-meshchatx", "rns", "lxmf")},
            "sender": {
                "identity_public_key": sender.get_public_key().hex(),
                "identity_hash": sender.hash.hex(),
                "delivery_hash": sender_delivery.hex(),
                "note": "a throwaway identity made for this capture; only its public key is kept",
            },
            "receiver": {"delivery_hash": recv.dest.hash.hex()},
            "layout": ("packed = destination(16) + source(16) + signature(64) + msgpack([timestamp, title, "
                       "content, fields]); message_id = SHA-256(destination + source + payload); fields keep "
                       "MeshChatX's insertion order (field_order)"),
            "messages": out,
        }
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    except Exception as e:
        print(f"mcxcapture: {e}", file=sys.stderr)
        if mcx is not None:
            print("--- meshchatx log tail ---\n" + mcx.log_tail(), file=sys.stderr)
        return 1
    finally:
        if mcx is not None:
            mcx.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _b64(b):
    import base64
    return base64.b64encode(b).decode()


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
