#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ (configured on first use only) and
# runs each on a scratch copy of its checked-in corpus, so the inputs a run discovers never
# dirty the repository. Exits non-zero when the build fails or a fuzzer finds a crash; the
# crashing input is then kept, and its path printed.
#
# Usage: fuzz/run_fuzzers.sh [SECONDS]             explore: SECONDS (default 20) per fuzzer, from
#                                                   a random seed, so each run tries new inputs
#        fuzz/run_fuzzers.sh --runs N [--seed S]   bounded: N inputs per fuzzer from seed S
#                                                   (default 1); what ctest runs. The amount of
#                                                   work does not depend on the machine's speed.
#                                                   The inputs are nearly, not exactly, the same
#                                                   each run: abseil's and protobuf's per-process
#                                                   hash seeds steer coverage a little.
# Environment: HEADEVO_FUZZ_BUILD_DIR (default REPO/build-fuzz); TMPDIR for the scratch copy.
# To keep a finding as a regression test, copy it into fuzz/corpus/NAME/: the normal build's
# ctest replays that directory.
set -euo pipefail

usage() { echo "usage: run_fuzzers.sh [SECONDS] | --runs N [--seed S]" >&2; exit 2; }
number() { case "$2" in ''|*[!0-9]*) echo "run_fuzzers.sh: $1 must be a number, got '$2'" >&2; exit 2 ;; esac; }
budget=()
what=
case "${1:-}" in
  --runs)
    [ $# -eq 2 ] || [ $# -eq 4 ] || usage
    number N "$2"
    seed=1
    if [ $# -eq 4 ]; then [ "$3" = --seed ] || usage; number S "$4"; seed=$4; fi
    budget=(-runs="$2" -seed="$seed" -reload=0)
    what="$2 inputs from seed $seed" ;;
  *)
    [ $# -le 1 ] || usage
    seconds=${1:-20}
    number SECONDS "$seconds"
    budget=(-max_total_time="$seconds")
    what="${seconds}s" ;;
esac
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HEADEVO_FUZZ_BUILD_DIR:-$repo/build-fuzz}
fuzzers=(config_parser request_checks)

if ! grep -qs '^HEADEVO_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  cmake -S "$repo" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DHEADEVO_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j2 --target "${fuzzers[@]/%/_fuzz}"

work=$(mktemp -d "${TMPDIR:-/tmp}/headevo-fuzz.XXXXXX")
failed=0
for name in "${fuzzers[@]}"; do
  cp -r "$repo/fuzz/corpus/$name" "$work/$name"
  mkdir -p "$work/$name-findings"
  echo "run_fuzzers.sh: $name, $what"
  # -timeout: a single input taking this long is a hang worth reporting.
  if ! "$build/fuzz/${name}_fuzz" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/$name-findings/" "$work/$name" \
      >"$work/$name.log" 2>&1; then
    tail -n 60 "$work/$name.log" >&2
    echo "run_fuzzers.sh: $name FAILED; log $work/$name.log, inputs in $work/$name-findings/" >&2
    failed=1
  else
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
      "$work/$name.log" || true
  fi
done

if [ "$failed" -eq 0 ]; then
  rm -rf "$work"
  echo "run_fuzzers.sh: no findings"
fi
exit "$failed"
