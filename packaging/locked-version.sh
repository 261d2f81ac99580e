#!/usr/bin/env sh
# Prints the version Cargo.lock locks for a package (one registry package of that name).
# usage: locked-version.sh NAME [CARGO_LOCK]
set -eu
name=$1
lock=${2:-$(dirname "$0")/../Cargo.lock}
version=$(awk -v want="name = \"$name\"" '$0 == want { getline; gsub(/version = |"/, ""); print; exit }' "$lock")
if [ -z "$version" ]; then
  echo "locked-version: no package '$name' in $lock" >&2
  exit 2
fi
echo "$version"
