#!/usr/bin/env bash
# CI test of the Reticle image under ROOTLESS Podman, as a NAS owner runs it.
#
# Run as root (CI does). It installs what is missing (podman, buildah, skopeo, ...), applies this VM's
# container tweaks for an unprivileged test user, builds with docker/build-image.sh a signed image (with an
# ephemeral key from `reticle-sign keygen`) and a tampered one, loads both into the test user's rootless
# storage and checks:
#   - the signed image starts with --read-only --cap-drop=ALL --security-opt no-new-privileges,
#     a named volume on /data and a port published on 127.0.0.1 only;
#   - /healthz answers 200 on the published loopback port within a bounded wait;
#   - the process runs as uid 65532 inside (host view through the user namespace), with no
#     capabilities, NoNewPrivs and seccomp;
#   - its log says the integrity check passed;
#   - a node moves from a bare binary into the image (`restore`) and back (`backup`), keeping its
#     address and conversations;
#   - the tampered image exits non-zero with a line naming the failed file.
# Prints PASS/FAIL lines and the image size, exits non-zero on any failure, always removes what it started.
# Env: RETICLE_TEST_USER (default reticle-ci), RETICLE_IMAGE_TEST_DIR (default: a fresh temp dir),
#      RETICLE_TEST_TIMEOUT (seconds to wait for /healthz, default 60).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
user=${RETICLE_TEST_USER:-reticle-ci}
wait_s=${RETICLE_TEST_TIMEOUT:-60}
passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
die() { echo "FAIL: $*"; echo "test-image: 0 passed, $((failed + 1)) failed"; exit 1; }
log() { echo "test-image: $*"; }

[ "$(id -u)" = 0 ] || die "run as root (it creates the rootless test user and installs packages)"
start=$(date +%s)

# --- 1. Tools ---------------------------------------------------------------------------------------
need=()
for t in podman buildah skopeo umoci runc newuidmap slirp4netns fuse-overlayfs catatonit curl python3; do
	command -v "$t" >/dev/null || need+=("$t")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing container tools (missing: ${need[*]})"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq podman buildah skopeo umoci runc uidmap slirp4netns fuse-overlayfs catatonit curl python3 >/dev/null
fi
command -v go >/dev/null || die "go not found"

# --- 2. The rootless test user and this VM's tweaks ---------------------------------------------------
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
if ! grep -q "^$user:" /etc/subuid || ! grep -q "^$user:" /etc/subgid; then
	# A range after every range already handed out.
	base=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' /etc/subuid /etc/subgid)
	usermod --add-subuids "$base-$((base + 65535))" --add-subgids "$base-$((base + 65535))" "$user"
fi
runtime_dir=/run/user/$uid
mkdir -p "$runtime_dir"
chown "$user:" "$runtime_dir"
chmod 0700 "$runtime_dir"
# Rootless networking (slirp4netns) and overlay (fuse) need these devices usable by the user.
chmod 0666 /dev/net/tun /dev/fuse 2>/dev/null || true
# crun refuses this VM's hybrid cgroups: use runc; the default nofile/nproc limits exceed the user's.
install -d -o "$user" -g "$user" "$home/.config" "$home/.config/containers"
cat >"$home/.config/containers/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
EOF
cat >"$home/.config/containers/storage.conf" <<'EOF'
[storage]
driver = "overlay"
EOF
chown "$user:" "$home/.config/containers/containers.conf" "$home/.config/containers/storage.conf"

as_user() {
	(cd / && runuser -u "$user" -- env -i HOME="$home" USER="$user" XDG_RUNTIME_DIR="$runtime_dir" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@")
}
pm() { as_user timeout 120 podman "$@"; }

# --- 3. Build the signed and the tampered image -----------------------------------------------------
tmp=${RETICLE_IMAGE_TEST_DIR:-$(mktemp -d /tmp/reticle-image-test.XXXXXX)}
mkdir -p "$tmp"
chmod 0755 "$tmp"
suffix=$$
ctr_good=reticle-test-good-$suffix
ctr_bad=reticle-test-bad-$suffix
ctr_bind=reticle-test-bind-$suffix
vol=reticle-test-data-$suffix
img_good=localhost/reticle-test:good-$suffix
img_bad=localhost/reticle-test:tampered-$suffix
cleanup() {
	pm rm -f -t 5 "$ctr_good" "$ctr_bad" "$ctr_bind" "${ctr_move:-}" >/dev/null 2>&1 || true
	pkill -TERM -u "$user" -f "reticle-bare serve" 2>/dev/null || true
	[ -z "${bind:-}" ] || rm -rf "$bind"
	[ -z "${move:-}" ] || rm -rf "$move"
	pm volume rm -f "$vol" >/dev/null 2>&1 || true
	pm rmi -f "$img_good" "$img_bad" >/dev/null 2>&1 || true
	[ -n "${RETICLE_IMAGE_TEST_DIR:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

log "ephemeral signing key"
(cd "$repo" && go run ./cmd/reticle-sign keygen --plain --out-priv "$tmp/test.key" --out-pub "$tmp/test.pub") ||
	die "reticle-sign keygen failed"
bash "$repo/docker/build-image.sh" --out "$tmp/good" --sign-key "$tmp/test.key" --pub-key "$tmp/test.pub" ||
	die "build-image.sh (signed) failed"
bash "$repo/docker/build-image.sh" --out "$tmp/bad" --sign-key "$tmp/test.key" --pub-key "$tmp/test.pub" --tamper ||
	die "build-image.sh (tampered) failed"
chmod -R a+rX "$tmp/good" "$tmp/bad"
rm -f "$tmp/test.key"
digest=$(cat "$tmp/good/digest")
tag=$(cut -d: -f2 <"$tmp/good/ref")
tag_bad=$(cut -d: -f2 <"$tmp/bad/ref")

# --- 4. Load into the user's rootless storage ---------------------------------------------------------
as_user skopeo copy --quiet "oci:$tmp/good/oci:$tag" "containers-storage:$img_good" || die "skopeo copy (signed) failed"
as_user skopeo copy --quiet "oci:$tmp/bad/oci:$tag_bad" "containers-storage:$img_bad" || die "skopeo copy (tampered) failed"
pass "images loaded into rootless podman storage of $user (uid $uid)"

# wait_health CTR PORT prints the /healthz body once it answers 200; fails after $wait_s seconds or when
# the container stops.
wait_health() {
	local deadline body state
	deadline=$(($(date +%s) + wait_s))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		if body=$(curl -fsS --max-time 2 "http://127.0.0.1:$2/healthz" 2>/dev/null); then
			echo "$body"
			return 0
		fi
		state=$(pm inspect -f '{{.State.Status}}' "$1" 2>/dev/null || echo gone)
		[ "$state" = running ] || return 1
		sleep 0.5
	done
	return 1
}

# --- 5. The signed image ----------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pm volume create "$vol" >/dev/null
if ! pm run -d --name "$ctr_good" --read-only --cap-drop=ALL --security-opt no-new-privileges \
	-p "127.0.0.1:$port:8000" -v "$vol:/data" "$img_good" >/dev/null; then
	die "podman run (signed image) failed"
fi
pass "started with --read-only --cap-drop=ALL --security-opt no-new-privileges -p 127.0.0.1:$port:8000 -v $vol:/data"

if body=$(wait_health "$ctr_good" "$port"); then
	pass "/healthz answered on 127.0.0.1:$port: $body"
else
	fail "/healthz did not answer on 127.0.0.1:$port within ${wait_s}s (container: $(pm inspect -f '{{.State.Status}} exit={{.State.ExitCode}}' "$ctr_good" 2>&1))"
fi

pid=$(pm inspect -f '{{.State.Pid}}' "$ctr_good" 2>/dev/null || echo 0)
if [ "$pid" -gt 0 ] && [ -r "/proc/$pid/status" ]; then
	host_uid=$(awk '/^Uid:/{print $3}' "/proc/$pid/status")
	# Translate the host uid through the container's user namespace map: inside outside count.
	inner_uid=$(awk -v h="$host_uid" '$2<=h && h<$2+$3 {print $1+h-$2}' "/proc/$pid/uid_map")
	inner_gid=$(awk -v h="$(awk '/^Gid:/{print $3}' "/proc/$pid/status")" '$2<=h && h<$2+$3 {print $1+h-$2}' "/proc/$pid/gid_map")
	capeff=$(awk '/^CapEff:/{print $2}' "/proc/$pid/status")
	capbnd=$(awk '/^CapBnd:/{print $2}' "/proc/$pid/status")
	nnp=$(awk '/^NoNewPrivs:/{print $2}' "/proc/$pid/status")
	seccomp=$(awk '/^Seccomp:/{print $2}' "/proc/$pid/status")
	if [ "$inner_uid" = 65532 ] && [ "$inner_gid" = 65532 ] && [ "$host_uid" != 0 ] && [ "$host_uid" != 65532 ]; then
		pass "process runs as uid/gid 65532 in the container (host uid $host_uid, unprivileged)"
	else
		fail "process uid: inside ${inner_uid:-?}/${inner_gid:-?}, host $host_uid (want 65532/65532 inside, not root outside)"
	fi
	if [ "$capeff" = 0000000000000000 ] && [ "$capbnd" = 0000000000000000 ] && [ "$nnp" = 1 ] && [ "$seccomp" = 2 ]; then
		pass "no capabilities (CapEff and CapBnd 0), NoNewPrivs 1, seccomp filter on"
	else
		fail "hardening: CapEff=$capeff CapBnd=$capbnd NoNewPrivs=$nnp Seccomp=$seccomp"
	fi
	log "podman top: $(pm top "$ctr_good" huser user capeff seccomp 2>&1 | tr '\n' ' ')"
else
	fail "container process not found (pid '$pid')"
fi

logs=$(pm logs "$ctr_good" 2>&1 || true)
if line=$(grep -m1 -i 'integrity verified' <<<"$logs"); then
	pass "log says the integrity check passed: $line"
else
	fail "no 'integrity verified' line in the log:"
	head -20 <<<"$logs" | sed 's/^/    /' # indent
fi
if grep -qiE 'integrity (check failed|self-verification is off)|unsigned development build' <<<"$logs"; then
	fail "log reports an integrity problem or a development build"
fi
pm stop -t 10 "$ctr_good" >/dev/null 2>&1 || true

# A NAS owner's bind mount: keep-id maps the user to 65532 inside, so the files stay the user's on the host.
bind=$home/reticle-bind-$suffix
as_user mkdir -m 0700 "$bind"
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if pm run -d --name "$ctr_bind" --read-only --cap-drop=ALL --security-opt no-new-privileges \
	--userns=keep-id:uid=65532,gid=65532 -p "127.0.0.1:$port2:8000" -v "$bind:/data:Z" "$img_good" >/dev/null &&
	wait_health "$ctr_bind" "$port2" >/dev/null; then
	pm stop -t 10 "$ctr_bind" >/dev/null 2>&1 || true
	files=$(find "$bind" -mindepth 1 | wc -l)
	foreign=$(find "$bind" -mindepth 1 ! -user "$user" | head -3)
	if [ -z "$foreign" ]; then
		pass "bind mount with --userns=keep-id:uid=65532,gid=65532: healthy, $files data entries all owned by $user on the host"
	else
		fail "bind mount: entries not owned by $user on the host: $foreign"
	fi
else
	fail "bind mount with --userns=keep-id:uid=65532,gid=65532: did not become healthy: $(pm logs "$ctr_bind" 2>&1 | tail -3)"
fi

# --- 5b. Move a node: bare binary -> image -> bare binary ------------------------------------------
# The owner's path from README ("Moving a node"): `reticle backup` on one side, `reticle restore` on the
# other, and the node keeps its address and conversations, in both directions. The image side runs the
# commands with the image's own environment (RETICLE_DATA_DIR=/data) and a read-only root.
move=$home/reticle-move-$suffix
ctr_move=reticle-test-move-$suffix
bare_pid=
as_user mkdir -m 0700 "$move" "$move/data1" "$move/cdata" "$move/data3" "$move/archives"
(cd "$repo" && CGO_ENABLED=0 go build -o "$tmp/reticle-bare" ./cmd/reticle) || die "go build (bare binary) failed"
chmod 0755 "$tmp/reticle-bare"
pw='move test owner password'
as_user sh -c "umask 077; printf '%s\n' '$pw' >'$move/pw'"
peer=00112233445566778899aabbccddeeff
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# bare_serve DIR PORT starts the bare binary as the test user in the background.
bare_serve() {
	as_user env RETICLE_INITIAL_PASSWORD_FILE="$move/pw" "$tmp/reticle-bare" serve --listen "127.0.0.1:$2" --data-dir "$1" \
		>"$move/bare-$2.log" 2>&1 &
	bare_pid=$!
}
bare_stop() {
	[ -z "$bare_pid" ] && return 0
	pkill -TERM -u "$user" -f "reticle-bare serve" || true
	wait "$bare_pid" 2>/dev/null || true
	bare_pid=
}
# wait_url PORT: /healthz answers within $wait_s seconds.
wait_url() {
	local deadline=$(($(date +%s) + wait_s))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}
# node_view PORT logs in and prints "ADDRESS CONVERSATION-PEERS..." for the node on PORT.
node_view() {
	local jar csrf addr peers
	jar=$(mktemp)
	csrf=$(curl -fsS --max-time 10 -c "$jar" -b "$jar" -H 'Content-Type: application/json' \
		-d "{\"password\":\"$pw\"}" "http://127.0.0.1:$1/api/v1/auth/login" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])') || { rm -f "$jar"; return 1; }
	addr=$(curl -fsS --max-time 10 -b "$jar" "http://127.0.0.1:$1/api/v1/identity" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])') || { rm -f "$jar"; return 1; }
	peers=$(curl -fsS --max-time 10 -b "$jar" "http://127.0.0.1:$1/api/v1/conversations" |
		python3 -c 'import json,sys; print(" ".join(sorted(c["peer"] for c in json.load(sys.stdin)["items"])))') || { rm -f "$jar"; return 1; }
	if [ "${2:-}" = send ]; then
		curl -fsS --max-time 10 -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
			-d "{\"to\":\"$peer\",\"content\":\"moved with me\"}" "http://127.0.0.1:$1/api/v1/messages" >/dev/null || { rm -f "$jar"; return 1; }
		peers=$peer
	fi
	rm -f "$jar"
	echo "$addr $peers"
}
hardened=(--read-only --cap-drop=ALL --security-opt no-new-privileges --userns=keep-id:uid=65532,gid=65532)

p1=$(free_port)
bare_serve "$move/data1" "$p1"
if wait_url "$p1" && view1=$(node_view "$p1" send); then
	bare_stop
	log "bare node: $view1"
	if as_user "$tmp/reticle-bare" backup --data-dir "$move/data1" --out "$move/archives/node1.zip" >/dev/null; then
		pass "bare node backed up: address ${view1%% *}, a conversation with $peer"
	else
		fail "reticle backup (bare) failed"
	fi
	if restore_out=$(pm run --rm "${hardened[@]}" -v "$move/cdata:/data:Z" -v "$move/archives:/move:Z" \
		"$img_good" restore /move/node1.zip 2>&1); then
		pass "image restore /move/node1.zip into an empty /data (no --data-dir, read-only root)"
	else
		fail "image restore failed: $(tail -3 <<<"$restore_out")"
	fi
	p2=$(free_port)
	if pm run -d --name "$ctr_move" "${hardened[@]}" -p "127.0.0.1:$p2:8000" -v "$move/cdata:/data:Z" "$img_good" >/dev/null &&
		wait_health "$ctr_move" "$p2" >/dev/null && view2=$(node_view "$p2"); then
		mlogs=$(pm logs "$ctr_move" 2>&1 || true)
		if [ "$view2" = "$view1" ] && ! grep -qi tamper <<<"$mlogs"; then
			pass "image node after the move has the same address and conversations, at-rest state not tampered"
		else
			fail "image node after the move: '$view2' (want '$view1'); tamper lines: $(grep -i tamper <<<"$mlogs" | head -2)"
		fi
	else
		fail "image node on the restored data did not come up: $(pm logs "$ctr_move" 2>&1 | tail -3)"
	fi
	pm stop -t 10 "$ctr_move" >/dev/null 2>&1 || true
	if pm run --rm "${hardened[@]}" -v "$move/cdata:/data:Z" -v "$move/archives:/move:Z" \
		"$img_good" backup --out /move/node2.zip >/dev/null 2>&1 &&
		as_user "$tmp/reticle-bare" restore "$move/archives/node2.zip" --data-dir "$move/data3" >/dev/null; then
		p3=$(free_port)
		bare_serve "$move/data3" "$p3"
		if wait_url "$p3" && view3=$(node_view "$p3") && [ "$view3" = "$view1" ]; then
			pass "moved back from the image to a bare binary: same address and conversations"
		else
			fail "bare node after the move back: '${view3:-}' (want '$view1'): $(tail -3 "$move/bare-$p3.log")"
		fi
		bare_stop
	else
		fail "image backup --out /move/node2.zip or the bare restore of it failed"
	fi
else
	fail "bare node did not come up or take a message: $(tail -3 "$move/bare-$p1.log")"
	bare_stop
fi

# --- 6. The tampered image --------------------------------------------------------------------------
set +e
# A tampered image that fails to refuse would serve forever: bound the run.
bad_out=$(as_user timeout 45 podman run --name "$ctr_bad" --read-only --cap-drop=ALL --security-opt no-new-privileges \
	-v "$vol:/data" "$img_bad" 2>&1)
bad_rc=$?
set -e
if [ "$bad_rc" -ne 0 ] && [ "$bad_rc" -ne 124 ]; then
	pass "tampered image exits non-zero (exit $bad_rc)"
else
	fail "tampered image exit status $bad_rc (want non-zero, not a timeout)"
fi
if line=$(grep -m1 -E '(mismatch|tamper).*reticle|reticle.*(mismatch|tamper)' <<<"$bad_out" | grep -E 'reticle[:" )]'); then
	pass "tampered image names the failed file: $line"
else
	fail "tampered image output does not name the failed file:"
	head -20 <<<"$bad_out" | sed 's/^/    /' # indent
fi

# --- 7. Size and summary ----------------------------------------------------------------------------
sizes=$(skopeo inspect --raw "oci:$tmp/good/oci:$tag" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]))')
log "image $digest: $sizes bytes compressed, $(stat -c %s "$tmp/good/rootfs.tar") bytes uncompressed"
log "took $(($(date +%s) - start))s"
echo "test-image: $passed passed, $failed failed"
[ "$failed" = 0 ]
