#!/usr/bin/env python3
"""Write Reticle's distroless-equivalent root filesystem as one reproducible tar.

Used by docker/build-image.sh; needs only the Python standard library and a Debian 12 host with
ca-certificates, tzdata, netbase and base-files installed (every Debian has them).

The tar mirrors gcr.io/distroless/static-debian12:nonroot: users root, nobody and nonroot (65532),
the CA bundle, zoneinfo, /etc/services and /etc/protocols, os-release, one dpkg status file per
shipped Debian package in /var/lib/dpkg/status.d (so image scanners see the OS packages) with their
copyright files, /tmp 1777, /home/nonroot 0700 and /data 0755 owned by 65532, plus the static
Reticle binary at /usr/local/bin/reticle and, when given, the release manifest and its bundle in
/usr/share/reticle.

Reproducible: entries sorted, numeric owners, no user or group names, every mtime set to --epoch,
GNU tar format. Same inputs, same bytes.
"""

import argparse
import io
import os
import subprocess
import sys
import tarfile

NONROOT = 65532

PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
NSSWITCH = (
    "passwd:         files\n"
    "group:          files\n"
    "shadow:         files\n"
    "hosts:          files dns\n"
    "networks:       files\n"
    "protocols:      files\n"
    "services:       files\n"
    "ethers:         files\n"
    "rpc:            files\n"
)

# Debian packages whose files the image ships; each gets /var/lib/dpkg/status.d/<pkg> and its copyright.
PACKAGES = ("base-files", "ca-certificates", "netbase", "tzdata")


class Tree:
    """Collects tar entries keyed by path, then writes them sorted."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.entries = {}

    def _info(self, path, kind, mode, uid, gid):
        ti = tarfile.TarInfo(path)
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = self.epoch
        return ti

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.dir(d)

    def dir(self, path, mode=0o755, uid=0, gid=0):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = (self._info(path, tarfile.DIRTYPE, mode, uid, gid), None)

    def file(self, path, data, mode=0o644, uid=0, gid=0):
        path = path.strip("/")
        if isinstance(data, str):
            data = data.encode()
        self._parents(path)
        ti = self._info(path, tarfile.REGTYPE, mode, uid, gid)
        ti.size = len(data)
        self.entries[path] = (ti, data)

    def symlink(self, path, target):
        path = path.strip("/")
        self._parents(path)
        ti = self._info(path, tarfile.SYMTYPE, 0o777, 0, 0)
        ti.linkname = target
        self.entries[path] = (ti, None)

    def host_file(self, path, src=None, mode=0o644):
        with open(src or "/" + path.strip("/"), "rb") as f:
            self.file(path, f.read(), mode)

    def write(self, out):
        with open(out, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
                for path in sorted(self.entries):
                    ti, data = self.entries[path]
                    tar.addfile(ti, io.BytesIO(data) if data is not None else None)


def add_zoneinfo(tree, root="/usr/share/zoneinfo"):
    """Adds the zoneinfo tree; keeps relative symlinks that stay inside it, drops the others."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, "/")
        tree.dir(rel_dir)
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            full = os.path.join(dirpath, name)
            rel = os.path.join(rel_dir, name)
            if os.path.islink(full):
                target = os.readlink(full)
                resolved = os.path.normpath(os.path.join(dirpath, target))
                if os.path.isabs(target) or not resolved.startswith(root + "/"):
                    continue
                tree.symlink(rel, target)
            elif os.path.isfile(full):
                tree.host_file(rel, full)


def dpkg_status(pkg, arch):
    out = subprocess.run(["dpkg-query", "-s", pkg], check=True, capture_output=True, text=True).stdout
    if "Status: install ok installed" not in out:
        sys.exit(f"mkrootfs: Debian package {pkg} is not installed on this host")
    # The files shipped are architecture-independent; say which architecture the image is for.
    lines = [f"Architecture: {arch}" if l.startswith("Architecture: ") and l != "Architecture: all" else l
             for l in out.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="tar file to write")
    ap.add_argument("--epoch", type=int, required=True, help="mtime of every entry (SOURCE_DATE_EPOCH)")
    ap.add_argument("--binary", required=True, help="static reticle binary")
    ap.add_argument("--arch", default="amd64", help="Debian architecture of the image (amd64, arm64)")
    ap.add_argument("--manifest", help="manifest.json for /usr/share/reticle")
    ap.add_argument("--bundle", help="manifest.json.sigstore.json for /usr/share/reticle")
    a = ap.parse_args()

    t = Tree(a.epoch)
    for d, mode, owner in (
        ("bin", 0o755, 0), ("dev", 0o755, 0), ("etc", 0o755, 0), ("proc", 0o555, 0),
        ("root", 0o700, 0), ("sys", 0o555, 0), ("usr/local/bin", 0o755, 0), ("var/lib/dpkg/status.d", 0o755, 0),
        ("home", 0o755, 0), ("home/nonroot", 0o700, NONROOT), ("data", 0o755, NONROOT),
    ):
        t.dir(d, mode, owner, owner)
    t.dir("tmp", 0o1777)

    t.file("etc/passwd", PASSWD)
    t.file("etc/group", GROUP)
    t.file("etc/nsswitch.conf", NSSWITCH)
    t.host_file("etc/os-release", "/usr/lib/os-release")
    t.host_file("usr/lib/os-release")
    t.host_file("etc/debian_version")
    for f in ("etc/services", "etc/protocols", "etc/rpc", "etc/ethertypes"):
        t.host_file(f)
    t.host_file("etc/ssl/certs/ca-certificates.crt")
    add_zoneinfo(t)
    for pkg in PACKAGES:
        t.file(f"var/lib/dpkg/status.d/{pkg}", dpkg_status(pkg, a.arch))
        t.host_file(f"usr/share/doc/{pkg}/copyright")

    t.host_file("usr/local/bin/reticle", a.binary, 0o755)
    if a.manifest:
        t.host_file("usr/share/reticle/manifest.json", a.manifest)
    if a.bundle:
        t.host_file("usr/share/reticle/manifest.json.sigstore.json", a.bundle)
    t.write(a.out)


if __name__ == "__main__":
    main()
