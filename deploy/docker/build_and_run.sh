#!/usr/bin/env bash
# Builds the CPU image (deploy/docker/Dockerfile) with podman on a machine that reaches no
# image registry, then runs it for real: `headevo run examples/quickstart.toml` in one
# container, and the same search through `serve` in one container with a `worker` in another.
# Run by hand, as root, from anywhere (not in ctest: the build compiles the whole project,
# about 15 CPU-minutes):
#
#   nice -n 19 deploy/docker/build_and_run.sh
#
# The registry images the Dockerfile names are made locally instead:
#   debian:12 (docker.io/library/debian:12)   debootstrap --variant=minbase bookworm, from the
#                                             Debian mirror, and `podman import`
#   NODE_IMAGE (the corpus stage's npm)        localhost/headevo-node:bookworm: that base plus
#                                             Debian's nodejs and npm
# A step whose image exists already is skipped, so a second run only rebuilds what changed.
#
# Environment: HEADEVO_IMAGE (localhost/headevo:cpu), HEADEVO_IMAGE_WORK (work directory,
# /var/tmp/headevo-image), DEBIAN_MIRROR (http://deb.debian.org/debian), BUILD_JOBS (2),
# PODMAN_FLAGS (global podman flags, e.g. "--storage-driver vfs" where overlay cannot mount),
# BUILD_FLAGS (extra `podman build` flags, e.g. "--isolation chroot"), HEADEVO_PORT (50951).
# Prints `RESULT key=value ...` lines (image size, build time, both searches' results);
# docs/deploy.md records a run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
image=${HEADEVO_IMAGE:-localhost/headevo:cpu}
work=${HEADEVO_IMAGE_WORK:-/var/tmp/headevo-image}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
jobs=${BUILD_JOBS:-2}
port=${HEADEVO_PORT:-50951}
base=docker.io/library/debian:12
node=localhost/headevo-node:bookworm
read -r -a podman_flags <<<"${PODMAN_FLAGS:-}"
read -r -a build_flags <<<"${BUILD_FLAGS:-}"
pm() { podman "${podman_flags[@]}" "$@"; }
say() { echo "build_and_run.sh: $*"; }

missing=()
command -v podman >/dev/null || missing+=(podman)
pm image exists "$base" 2>/dev/null || command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "missing ${missing[*]}; install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
[ "$(id -u)" -eq 0 ] || { say "run as root (debootstrap and rootful podman)" >&2; exit 1; }
mkdir -p "$work"

# 1. debian:12 from the Debian mirror. The same suites as the official image (security
# updates included), and its apt lists removed as the official image has them.
if ! pm image exists "$base"; then
  rootfs=$work/rootfs
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    rm -rf "$rootfs"
    say "debootstrap bookworm into $rootfs from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { say "debootstrap failed; see $work/debootstrap.log" >&2; exit 1; }
  fi
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "podman import -> $base"
  tar -C "$rootfs" --numeric-owner -c . |
    pm import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base"
fi

# Can podman start a container here? Where crun refuses (e.g. cgroups in hybrid mode with a
# controller on the v2 hierarchy), build with chroot isolation (buildah runs RUN steps
# without an OCI runtime) and run the image's root filesystem with chroot instead (below).
if probe=$(pm run --rm "$base" true 2>&1); then
  mode=podman
else
  mode=chroot
  say "podman run fails here: $probe"
  say "so: podman build --isolation chroot, and the image run by chroot in its own mount and PID namespaces"
  build_flags+=(--isolation chroot)
fi
echo "RESULT container_runtime=$mode"

# 2. The corpus stage's npm on that base, in place of node:20-bookworm-slim. Behind a proxy
# that re-signs TLS (npm then fails with SELF_SIGNED_CERT_IN_CHAIN), the host's CA bundle,
# $NODE_EXTRA_CA_CERTS, is copied into this stage-only image for npm; the corpus stage hands
# only the corpus to the final image.
if ! pm image exists "$node"; then
  say "building $node (Debian's nodejs and npm)"
  context=$work/node-context
  rm -rf "$context" && mkdir -p "$context"
  lines=("FROM $base"
    "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/*")
  if [ -r "${NODE_EXTRA_CA_CERTS:-}" ]; then
    say "npm in $node trusts $NODE_EXTRA_CA_CERTS (NODE_EXTRA_CA_CERTS)"
    cp "$NODE_EXTRA_CA_CERTS" "$context/extra-ca.pem"
    lines+=("COPY extra-ca.pem /usr/local/share/extra-ca.pem"
            "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.pem")
  fi
  printf '%s\n' "${lines[@]}" >"$context/Containerfile"
  pm build "${build_flags[@]}" -t "$node" -f "$context/Containerfile" "$context"
fi

# 3. The image itself, timed.
say "podman build -f deploy/docker/Dockerfile -t $image (BUILD_JOBS=$jobs)"
start=$(date +%s)
pm build "${build_flags[@]}" --build-arg NODE_IMAGE="$node" --build-arg BUILD_JOBS="$jobs" \
  -f "$repo/deploy/docker/Dockerfile" -t "$image" "$repo"
build_s=$(($(date +%s) - start))
size=$(pm image inspect --format '{{.Size}}' "$image")
echo "RESULT image=$image build_seconds=$build_s size_mb=$((size / 1000000))"

# headevo from the image, in container NAME: `in_image NAME [--detach LOG] ARGS...`. The
# database lives in the container's /var/lib/headevo (with podman, a host directory,
# $runs/NAME, mounted there); examples/ is at /examples; host networking (a coordinator on
# loopback needs neither TLS nor a token). chroot mode: a container created from the image,
# its root mounted (`podman mount`), and headevo run in it as uid 10001 with chroot, as PID 1
# of a new PID namespace (so SIGTERM reaches it as in a container), /proc and /dev mounted in
# a mount namespace of its own. What chroot mode does not give: the engine's cgroups,
# seccomp and network namespace.
runs=$work/runs
declare -A pids
in_image() {
  local name=$1 log=""
  shift
  if [ "$1" = --detach ]; then log=$2; shift 2; fi
  if [ "$mode" = podman ]; then
    mkdir -p "$runs/$name" && chown 10001:10001 "$runs/$name"
    local args=(--rm --name "$name-$RANDOM" --network host -v "$repo/examples:/examples:ro"
                -v "$runs/$name:/var/lib/headevo" "$image" "$@")
    if [ -n "$log" ]; then pm run "${args[@]}" >"$log" 2>&1 & pids[$name]=$!; else pm run "${args[@]}"; fi
    return
  fi
  pm container exists "$name" || pm create --name "$name" "$image" >/dev/null
  local root
  root=$(pm mount "$name")
  mkdir -p "$root/examples" && cp "$repo"/examples/*.toml "$root/examples/"
  local inner='mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" &&
    exec chroot --userspec=10001:10001 "$0" /usr/bin/env -i HOME=/var/lib/headevo \
      PATH=/usr/local/bin:/usr/bin:/bin HEADEVO_DATA_DIR=/usr/share/headevo \
      /bin/sh -c "cd /var/lib/headevo && exec headevo \"\$@\"" headevo "$@"'
  if [ -n "$log" ]; then
    unshare --mount --pid --fork --kill-child /bin/sh -c "$inner" "$root" "$@" >"$log" 2>&1 &
    pids[$name]=$!
  else
    unshare --mount --pid --fork --kill-child /bin/sh -c "$inner" "$root" "$@"
  fi
}
# SIGTERM to a detached in_image (the headevo process, PID 1 of its namespace), then waits.
stop_in_image() {
  local pid=${pids[$1]} child
  child=$(pgrep -P "$pid" | head -n 1 || true)
  [ "$mode" = chroot ] && [ -n "$child" ] && kill -TERM "$child" || kill -TERM "$pid"
  wait "$pid" || true
}
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for name in run serve worker; do
    pm umount "$name" >/dev/null 2>&1 || true
    pm rm -f "$name" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
cleanup
rm -rf "$runs" && mkdir -p "$runs"

# 4. `headevo run` in the image.
say "headevo run /examples/quickstart.toml"
start=$(date +%s)
in_image run run /examples/quickstart.toml --db run.db | tee "$runs/run.log" | tail -n 25
echo "RESULT run_seconds=$(($(date +%s) - start))"

# 5. serve in one container, a worker in another, the search launched from the first.
in_image serve --detach "$runs/serve.out" serve --db serve.db --listen "127.0.0.1:$port"
for _ in $(seq 1 60); do
  grep -q "listening on" "$runs/serve.out" 2>/dev/null && break
  sleep 1
done
in_image worker --detach "$runs/worker.out" worker --coordinator "127.0.0.1:$port" --name image-worker
start=$(date +%s)
in_image serve launch /examples/quickstart.toml --coordinator "127.0.0.1:$port" --watch |
  tee "$runs/serve.log" | tail -n 25
echo "RESULT serve_seconds=$(($(date +%s) - start))"
stop_in_image worker
stop_in_image serve
tail -n 3 "$runs/serve.out" "$runs/worker.out"

# 6. The two searches' results, read from their databases by the image's own headevo.
in_image run status 1 --db run.db | tee "$runs/run.status"
in_image serve status 1 --db serve.db | tee "$runs/serve.status"
if diff <(in_image run candidates 1 --db run.db) <(in_image serve candidates 1 --db serve.db) \
    >"$runs/candidates.diff"; then
  echo "RESULT same_lineage_in_run_and_serve=yes"
else
  echo "RESULT same_lineage_in_run_and_serve=no (see $runs/candidates.diff)"
fi
