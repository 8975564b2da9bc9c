#!/usr/bin/env python3
"""A NomadNet page client on the stock Python reference, the way NomadNet's browser fetches pages.

Started by the Go NomadNet interop tests (nomadnet_interop_test.go). It only drives the public RNS
API: request a path when none is known, link to the "nomadnetwork.node" destination, optionally
identify, then request each page with its form data (a dict of field_*/var_* keys, or None) and
report what came back. A request that fails or times out is tried again up to "tries" times (the
node may register a plugin's page a few seconds after the plugin is enabled).
Usage: nnclient.py CONFIG_DIR NODE_HEX REQUESTS_JSON [--identify]
REQUESTS_JSON is a list of {"path": P, "data": {..} | null, "tries": N}.
Events (JSON lines): ready, path, link_established, response {path, content, size}, request_failed
{path}, link_failed, done.
"""
import json
import sys
import threading
import time

import RNS


def emit(**ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def main():
    config_dir, node_hex, reqs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    identify = "--identify" in sys.argv[4:]
    RNS.Reticulum(config_dir)
    emit(event="ready")
    node = bytes.fromhex(node_hex)
    if not RNS.Transport.has_path(node):
        RNS.Transport.request_path(node)
        deadline = time.time() + 30
        last = time.time()
        while not RNS.Transport.has_path(node):
            if time.time() > deadline:
                emit(event="link_failed", reason="no path")
                return
            if time.time() - last > 5:
                RNS.Transport.request_path(node)
                last = time.time()
            time.sleep(0.25)
    emit(event="path", hops=RNS.Transport.hops_to(node))
    dest = RNS.Destination(RNS.Identity.recall(node), RNS.Destination.OUT, RNS.Destination.SINGLE, "nomadnetwork", "node")
    established = threading.Event()
    link = RNS.Link(dest, established_callback=lambda l: established.set())
    if not established.wait(30):
        emit(event="link_failed", reason="not established")
        return
    emit(event="link_established")
    if identify:
        me = RNS.Identity()
        link.identify(me)
        emit(event="identified", identity=me.hash.hex())
    for r in reqs:
        for attempt in range(max(1, r.get("tries", 1))):
            got = {}
            finished = threading.Event()

            def ok(receipt, got=got, finished=finished):
                got["response"] = receipt.response
                finished.set()

            def failed(receipt, finished=finished):
                finished.set()

            receipt = link.request(r["path"], data=r.get("data"), response_callback=ok, failed_callback=failed)
            finished.wait(60)
            resp = got.get("response")
            if resp is not None:
                content = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
                emit(event="response", path=r["path"], content=content, size=len(resp), attempt=attempt)
                break
        else:
            emit(event="request_failed", path=r["path"])
    link.teardown()
    emit(event="done")


if __name__ == "__main__":
    main()
