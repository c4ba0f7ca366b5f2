#!/usr/bin/env bash
# A search's evaluations per hour on one device: a real coordinator (`headevo serve`, metrics on)
# and WORKERS workers on DEVICE, the search CONFIG launched, the coordinator's
# headevo_evaluations_total read from /metrics after a warm-up and again SECONDS later.
# Prints a RESULT line. Runs for minutes; not part of the tests.
#
# Usage: bench/evaluations_per_hour.sh [--device cpu|cuda:0] [--workers N] [--seconds S]
#          [--warmup S] [--config FILE] [--headevo PATH]
# Example (CPU, then a GPU machine):
#   bench/evaluations_per_hour.sh --device cpu --seconds 120
#   bench/evaluations_per_hour.sh --device cuda:0 --seconds 120 --headevo build-cuda/cli/headevo
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
device=cpu workers=1 seconds=120 warmup=20
config="$repo/examples/quickstart.toml" headevo="$repo/build/cli/headevo"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift ;;
    --workers) workers=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --config) config=$(realpath "$2"); shift ;;
    --headevo) headevo=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "evaluations_per_hour.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$headevo" ] || { echo "no headevo binary at $headevo (build first, or --headevo)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

"$headevo" serve --db bench.db --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >serve.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "metrics on" serve.log && break; sleep 0.1; done
grpc=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' serve.log)
metrics=$(sed -n 's/.*metrics on \(http:[^ ]*\).*/\1/p' serve.log)
[ -n "$grpc" ] && [ -n "$metrics" ] || { cat serve.log >&2; exit 1; }

# A budget far beyond the measurement, so the search never runs dry.
sed -e 's/^population = .*/population = 16/' -e 's/^generations = .*/generations = 100000/' \
    -e 's/^compare_with_dense = .*/compare_with_dense = false/' "$config" >search.toml
"$headevo" launch search.toml --coordinator "$grpc" >/dev/null
for i in $(seq "$workers"); do
  "$headevo" worker --coordinator "$grpc" --device "$device" --quiet \
    --checkpoints "worker$i.checkpoints" >"worker$i.log" 2>&1 &
  pids+=($!)
done

evaluations() { curl -sf "$metrics" | awk '$1 == "headevo_evaluations_total" {print $2}'; }
sleep "$warmup"
before=$(evaluations)
start=$(date +%s.%N)
sleep "$seconds"
after=$(evaluations)
end=$(date +%s.%N)
per_hour=$(awk -v a="$after" -v b="$before" -v s="$start" -v e="$end" \
  'BEGIN { printf "%.0f", (a - b) * 3600 / (e - s) }')
echo "RESULT device=$device workers=$workers evaluations=$((${after%.*} - ${before%.*})) \
seconds=$seconds evaluations_per_hour=$per_hour config=$(basename "$config")"
