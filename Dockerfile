# syntax=docker/dockerfile:1
#
# Reticle image: one static Go binary on distroless static (no shell, no package manager), uid 65532,
# read-only root friendly, data in /data.
#
#   docker build -t reticle .                                   # development image (unsigned)
#   docker run --read-only --tmpfs /tmp --cap-drop=ALL --security-opt no-new-privileges \
#     -p 127.0.0.1:8000:8000 -v reticle:/data reticle
#
# Releases (.github/workflows/release.yml) build in two steps with the same reproducible flags:
#   1. --target binary exports the binary per platform; the workflow hashes it into manifest.json
#      (cmd/reticle-sign manifest) and signs that with cosign (manifest.json.sigstore.json);
#   2. the image build gets those files through the named build context "release"
#      (--build-context release=dist/release, laid out as <os>_<arch>/manifest.json[.sigstore.json]);
#      the release-files stage checks that the signed manifest names exactly this binary and the files
#      land in /usr/share/reticle, where `reticle serve` verifies them at every start (RETICLE_VERIFY=enforce).
# Without that context the image carries no manifest: a build with the default VERSION=dev reports an
# "unsigned development build"; a build with a release VERSION and no manifest refuses to start
# (set RETICLE_VERIFY=warn to run such a build).
#
# docker/build-image.sh builds the same image without a Docker engine or a registry.

# Base images pinned by the digest of their multi-arch index; the tag is for humans and Dependabot.
# Refresh: crane digest golang:1.26-bookworm (or docker buildx imagetools inspect golang:1.26-bookworm).
# The Go image digest was taken from public Dockerfiles that pin golang:1.26-bookworm for Go 1.26.8; it
# was not checked against the registry from the machine that wrote this line.
ARG GO_IMAGE=golang:1.26-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d
# gcr.io/distroless/static-debian12:nonroot as of 2026-08-26. Refresh: crane digest gcr.io/distroless/static-debian12:nonroot
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

# Default for the "release" build context: no release files (a placeholder so the stage is not empty).
# The release workflow replaces this stage with --build-context release=DIR.
FROM scratch AS release
COPY docker/README.md /README.md

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download && go mod verify
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
# Base64 of a PEM public key that replaces the embedded cosign.pub (tests and forks only).
ARG COSIGN_PUB_B64=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    pkg=github.com/reticle-mesh/reticle; \
    ldflags="-s -w -buildid= -X $pkg/pkg/buildinfo.Version=$VERSION -X $pkg/pkg/buildinfo.Commit=$COMMIT -X $pkg/pkg/buildinfo.Date=$DATE"; \
    if [ -n "$COSIGN_PUB_B64" ]; then ldflags="$ldflags -X $pkg.cosignPubOverride=$COSIGN_PUB_B64"; fi; \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags "$ldflags" -o /out/reticle ./cmd/reticle; \
    mkdir -p /out/data /out/share

# docker buildx build --target binary --platform linux/amd64,linux/arm64 --output type=local,dest=dist/bin .
FROM scratch AS binary
COPY --from=build /out/reticle /reticle

# The signed release files for this platform, if the "release" context has them, after checking that the
# manifest's "reticle" entry is this very binary (the build is reproducible, so it is).
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS release-files
ARG TARGETOS=linux
ARG TARGETARCH
COPY --from=release / /release/
COPY --from=build /out/reticle /out/reticle
RUN set -eu; \
    dir=/release/${TARGETOS}_${TARGETARCH}; mkdir -p /out/share; \
    if [ -f "$dir/manifest.json" ]; then \
      test -f "$dir/manifest.json.sigstore.json" || { echo "release context: $dir/manifest.json has no bundle" >&2; exit 1; }; \
      want=$(tr -d ' \n' < "$dir/manifest.json" | grep -o '"path":"reticle","sha256":"[0-9a-f]*"' | cut -d'"' -f8); \
      have=$(sha256sum /out/reticle | cut -d' ' -f1); \
      test "$want" = "$have" || { echo "release manifest names reticle $want, built $have" >&2; exit 1; }; \
      cp "$dir/manifest.json" "$dir/manifest.json.sigstore.json" /out/share/; \
    fi

FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="reticle" \
      org.opencontainers.image.description="Reticulum node, LXMF messenger and web appliance" \
      org.opencontainers.image.source="https://github.com/reticle-mesh/reticle" \
      org.opencontainers.image.url="https://github.com/reticle-mesh/reticle" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=build /out/reticle /usr/local/bin/reticle
COPY --from=release-files /out/share/ /usr/share/reticle/
COPY --from=build --chown=65532:65532 /out/data /data
ENV RETICLE_LISTEN=0.0.0.0:8000 \
    RETICLE_DATA_DIR=/data \
    RETICLE_VERIFY=enforce
USER 65532:65532
WORKDIR /home/nonroot
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/reticle", "healthcheck", "--url", "http://127.0.0.1:8000/healthz"]
ENTRYPOINT ["/usr/local/bin/reticle"]
CMD ["serve"]
