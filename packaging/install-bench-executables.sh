#!/usr/bin/env sh
# Installs the bench executables of `cargo bench -p benchseal-benches --no-run
# --message-format=json` beside benchseal, under the names the run pipeline looks for:
# benchseal-bench-wall (criterion) and benchseal-bench-instr (gungraun).
#
# usage: install-bench-executables.sh CARGO_JSON_MESSAGES DEST_DIR
#
# Shared by the Containerfile, flake.nix and CI so every package carries the same two files.
# Plain sh + grep/sed: the container build stage and the Nix build have no jq guarantee.
set -eu

messages=$1
dest=$2

executable_of() {
  # One compiler-artifact line per bench target; its "executable" is the runnable file.
  line=$(grep '"reason":"compiler-artifact"' "$messages" \
    | grep '"kind":\["bench"\]' \
    | grep "\"name\":\"$1\"" \
    | grep '"executable":"' \
    | tail -n 1) || true
  if [ -z "$line" ]; then
    echo "install-bench-executables: no executable for bench target '$1' in $messages" >&2
    exit 1
  fi
  printf '%s\n' "$line" | sed 's/.*"executable":"\([^"]*\)".*/\1/'
}

mkdir -p "$dest"
for target in wall instr; do
  exe=$(executable_of "$target")
  install -m 0755 "$exe" "$dest/benchseal-bench-$target"
  echo "installed $dest/benchseal-bench-$target (from $exe)"
done
