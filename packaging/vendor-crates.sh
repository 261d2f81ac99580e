#!/usr/bin/env bash
# Fills packaging/offline/ with the crates an offline container build needs (see
# packaging/offline/README.md): the workspace's locked crates, and gungraun-runner at the version
# of the gungraun library in Cargo.lock together with every crate its own Cargo.lock names.
#
# Each half is keyed by what determines it (Cargo.lock; the runner version), so a rerun with
# nothing changed returns at once.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
offline=$repo/packaging/offline
runner_version=$(sh "$repo/packaging/locked-version.sh" gungraun "$repo/Cargo.lock")

log() { echo "vendor-crates: $*" >&2; }

workspace_key=$(sha256sum "$repo/Cargo.lock" | cut -c1-64)
if [ "$(cat "$offline/workspace/key" 2>/dev/null)" != "$workspace_key" ]; then
  log "cargo vendor (workspace, Cargo.lock $workspace_key)"
  rm -rf "$offline/workspace/crates" "$offline/workspace/key"
  cargo vendor --quiet --locked --versioned-dirs --manifest-path "$repo/Cargo.toml" \
    "$offline/workspace/crates" >/dev/null
  echo "$workspace_key" >"$offline/workspace/key"
fi

runner_key="gungraun-runner $runner_version"
if [ "$(cat "$offline/runner/key" 2>/dev/null)" != "$runner_key" ]; then
  log "cargo vendor ($runner_key and its Cargo.lock)"
  rm -rf "$offline/runner/crates" "$offline/runner/key"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  # A throwaway package depending on the runner makes cargo vendor the runner crate itself
  # (a directory source needs it to satisfy `cargo install gungraun-runner`) ...
  mkdir -p "$scratch/pin/src"
  cat >"$scratch/pin/Cargo.toml" <<EOF
[package]
name = "benchseal-runner-pin"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
gungraun-runner = "=$runner_version"
EOF
  : >"$scratch/pin/src/lib.rs"
  cargo vendor --quiet --versioned-dirs --manifest-path "$scratch/pin/Cargo.toml" \
    "$scratch/first" >/dev/null 2>&1
  runner_src=$scratch/first/gungraun-runner-$runner_version
  # ... and vendoring again with the runner's own manifest and lock adds exactly the versions
  # `cargo install --locked` will ask for.
  cargo vendor --quiet --versioned-dirs --manifest-path "$scratch/pin/Cargo.toml" \
    -s "$runner_src/Cargo.toml" "$offline/runner/crates" >/dev/null 2>&1
  test -d "$offline/runner/crates/gungraun-runner-$runner_version"
  echo "$runner_key" >"$offline/runner/key"
fi
log "ready: $(ls "$offline/workspace/crates" | wc -l) workspace crates, $(ls "$offline/runner/crates" | wc -l) runner crates"
