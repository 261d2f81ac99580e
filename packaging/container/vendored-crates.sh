#!/usr/bin/env sh
# Points cargo at a directory of vendored crates when the build context carries one, and prints
# the flag cargo then needs (`--offline`); prints nothing when the directory is absent, so the
# same Containerfile builds hermetically from vendored sources (CI) or from crates.io (a user).
#
# usage: vendored-crates.sh DIR   (e.g. /offline/workspace)
set -eu
dir=$1
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  mkdir -p "${CARGO_HOME:?}"
  cat >"$CARGO_HOME/config.toml" <<CONFIG
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$dir"
CONFIG
  echo "--offline"
  echo "vendored-crates: building offline from $dir" >&2
else
  echo "vendored-crates: no vendored crates at $dir; fetching from crates.io" >&2
fi
