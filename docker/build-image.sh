#!/usr/bin/env bash
# Hermetic build of the Reticle image: no registry, no base image pull, no Docker engine.
#
# Builds the static binary with the release flags of the Dockerfile, assembles a root filesystem
# equivalent to gcr.io/distroless/static-debian12:nonroot from files of this Debian 12 host
# (docker/mkrootfs.py), and turns it into an OCI image layout with buildah, reproducibly: the same
# source, toolchain and SOURCE_DATE_EPOCH give the same image digest.
#
# Usage: docker/build-image.sh [--out DIR] [--sign-key KEY [--pub-key PUB]] [--tamper]
#                              [--version V] [--arch amd64|arm64] [--format oci|docker] [--name NAME]
#   --out DIR       output directory (default dist/image); writes DIR/oci (OCI layout, tag = version),
#                   DIR/rootfs.tar, DIR/reticle, DIR/digest and, when signed, DIR/manifest.json(.sigstore.json)
#   --sign-key KEY  private key from `reticle-sign keygen` (cosign-encrypted keys read $COSIGN_PASSWORD):
#                   make manifest.json and its bundle with cmd/reticle-sign, ship them in
#                   /usr/share/reticle, and embed the matching public key (--pub-key, default KEY with
#                   .key replaced by .pub) with the ldflags override
#   --tamper        TEST ONLY: change the binary after the manifest was made; the image must refuse to start
#   --version V     version stamped into the binary (default: exact git tag, else v0.0.0-<commit>)
#   --arch A        GOARCH of the image (default: the host's)
#   --format F      oci (default) writes DIR/oci; docker writes DIR/image.docker.tar (docker-archive) and
#                   keeps the HEALTHCHECK, which the OCI image config format cannot carry
#   --name NAME     image name recorded in the layout and archive (default localhost/reticle)
# Env: SOURCE_DATE_EPOCH (default: last commit time, else 0) fixes every timestamp.
# Needs: go, python3, buildah, skopeo (apt-get install -y buildah skopeo). Run as root, or as a user
# that rootless buildah works for.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/dist/image
sign_key=""
pub_key=""
tamper=0
version=""
arch=$(go env GOARCH)
format=oci
name=localhost/reticle

die() { echo "build-image: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--sign-key) sign_key=$2; shift 2 ;;
	--pub-key) pub_key=$2; shift 2 ;;
	--tamper) tamper=1; shift ;;
	--version) version=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--format) format=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
case $format in oci | docker) ;; *) die "--format must be oci or docker" ;; esac
for tool in go python3 buildah skopeo; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y buildah skopeo python3)"
done
if [ -n "$sign_key" ]; then
	[ -f "$sign_key" ] || die "signing key $sign_key not found"
	[ -n "$pub_key" ] || pub_key=${sign_key%.key}.pub
	[ -f "$pub_key" ] || die "public key $pub_key not found (pass --pub-key)"
fi
[ "$tamper" = 0 ] || [ -n "$sign_key" ] || die "--tamper needs --sign-key (it alters a signed image)"

cd "$repo"
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if [ -z "$version" ]; then
	version=$(git describe --tags --exact-match 2>/dev/null || true)
	[ -n "$version" ] || version=v0.0.0-${commit:0:12}
	[ "$commit" != unknown ] || version=v0.0.0-local
fi
tag=${version//+/-}

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
ctr=""
cleanup() {
	[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# 1. The static binary, with the Dockerfile's reproducible flags.
pkg=github.com/reticle-mesh/reticle
ldflags="-s -w -buildid= -X $pkg/pkg/buildinfo.Version=$version -X $pkg/pkg/buildinfo.Commit=$commit -X $pkg/pkg/buildinfo.Date=$date"
if [ -n "$pub_key" ]; then
	ldflags="$ldflags -X $pkg.cosignPubOverride=$(base64 -w0 "$pub_key")"
fi
echo "build-image: go build ./cmd/reticle (GOARCH=$arch, version $version)"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" \
	-o "$work/reticle" ./cmd/reticle

# 2. Release manifest and bundle, made by cmd/reticle-sign (host architecture).
rootfs_args=(--binary "$work/reticle")
if [ -n "$sign_key" ]; then
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$work/reticle-sign" ./cmd/reticle-sign
	# The manifest lists the binary as its "reticle" entry, which the running binary checks against its own
	# executable; the manifest and bundle go to /usr/share/reticle.
	mkdir -p "$work/release"
	"$work/reticle-sign" manifest --root "$work/release" --exe "$work/reticle" --out "$work/manifest.json" >/dev/null
	"$work/reticle-sign" sign --key "$sign_key" --in "$work/manifest.json" --out "$work/manifest.json.sigstore.json" >/dev/null
	cp "$work/manifest.json" "$work/manifest.json.sigstore.json" "$out/"
	rootfs_args+=(--manifest "$work/manifest.json" --bundle "$work/manifest.json.sigstore.json")
	if [ "$tamper" = 1 ]; then
		printf '\n# tampered after signing\n' >>"$work/reticle"
		echo "build-image: WARNING: --tamper: binary altered after signing (test image, must refuse to start)"
	fi
fi
cp "$work/reticle" "$out/reticle"

# 3. The root filesystem as one reproducible tar.
python3 "$repo/docker/mkrootfs.py" --out "$out/rootfs.tar" --epoch "$SOURCE_DATE_EPOCH" --arch "$arch" "${rootfs_args[@]}"

# 4. The image: one layer on scratch, the same config as the Dockerfile's final stage.
ctr=$(buildah from --format "$format" scratch)
buildah add --quiet "$ctr" "$out/rootfs.tar" / >/dev/null
src_url=https://github.com/reticle-mesh/reticle
config=(
	--os linux --arch "$arch"
	--user 65532:65532 --workingdir /home/nonroot
	--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
	--env RETICLE_LISTEN=0.0.0.0:8000 --env RETICLE_DATA_DIR=/data --env RETICLE_VERIFY=enforce
	--entrypoint '["/usr/local/bin/reticle"]' --cmd serve
	--port 8000/tcp --volume /data
	--created-by "docker/build-image.sh (hermetic, distroless-equivalent rootfs from Debian 12)"
	--label org.opencontainers.image.title=reticle
	--label "org.opencontainers.image.description=Reticulum node, LXMF messenger and web appliance"
	--label org.opencontainers.image.version="$version"
	--label org.opencontainers.image.revision="$commit"
	--label org.opencontainers.image.created="$date"
	--label "org.opencontainers.image.source=$src_url"
	--label "org.opencontainers.image.url=$src_url"
	--label org.opencontainers.image.base.name=scratch
)
if [ "$format" = docker ]; then
	# Only the Docker image format has a healthcheck field; buildah ignores it for OCI images.
	config+=(--healthcheck 'CMD /usr/local/bin/reticle healthcheck --url http://127.0.0.1:8000/healthz'
		--healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 10s --healthcheck-retries 3)
fi
buildah config "${config[@]}" "$ctr"

if [ "$format" = oci ]; then
	dest=oci:$out/oci:$tag
else
	dest=docker-archive:$out/image.docker.tar:$name:$tag
fi
buildah commit --quiet --rm --format "$format" --timestamp "$SOURCE_DATE_EPOCH" --identity-label=false \
	--disable-compression=false "$ctr" "$dest" >/dev/null
ctr=""

# 5. Digest and size, read from what was written (podman load rewrites manifests; pin from here).
raw=$(skopeo inspect --raw "$dest")
digest=sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)
layers=$(printf '%s' "$raw" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]))')
echo "$digest" >"$out/digest"
echo "$name:$tag" >"$out/ref"
echo "build-image: image   $name:$tag ($dest)"
echo "build-image: digest  $digest"
echo "build-image: size    $layers bytes compressed layers, $(stat -c %s "$out/rootfs.tar") bytes uncompressed rootfs, binary $(stat -c %s "$out/reticle") bytes"
