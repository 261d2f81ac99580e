#!/usr/bin/env bash
# The flake, checked as far as this machine allows without nixpkgs (see docs/architecture.md,
# "Packaging on a machine without Nix or a container engine"):
#   1. flake.nix and packaging/nix/pins.nix parse;
#   2. pins.nix evaluates: the release version, the toolchain channel, and a gungraun-runner pin
#      equal to the gungraun library in Cargo.lock (a mismatch fails with the fix);
#   3. flake.lock pins every input declared in flake.nix to a full revision and NAR hash, and Nix
#      itself accepts the lock as matching the inputs (`nix flake metadata --offline
#      --no-update-lock-file` refuses a lock that would need rewriting);
#   4. with local checkouts of the locked revisions in BENCHSEAL_NIXPKGS and
#      BENCHSEAL_RUST_OVERLAY, the real flake is evaluated:
#      apps.x86_64-linux.bench and packages.x86_64-linux.default. Without one, the step says so.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v nix-instantiate >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nix-bin >/dev/null
fi
nix_flakes=(nix --extra-experimental-features "nix-command flakes")

echo "-- parse"
nix-instantiate --parse flake.nix >/dev/null
nix-instantiate --parse packaging/nix/pins.nix >/dev/null

echo "-- evaluate packaging/nix/pins.nix"
pins=$(nix-instantiate --eval --strict --json -E 'import ./packaging/nix/pins.nix { root = ./.; }')
echo "$pins"
python3 - "$pins" <<'PY'
import json, re, sys
pins = json.loads(sys.argv[1])
cargo = open("Cargo.toml").read()
toolchain = open("rust-toolchain.toml").read()
want_version = re.search(r'^\[workspace\.package\]\s*\nversion = "([^"]+)"', cargo, re.M).group(1)
want_channel = re.search(r'^channel = "([^"]+)"', toolchain, re.M).group(1)
assert pins["version"] == want_version, (pins["version"], want_version)
assert pins["rustChannel"] == want_channel, (pins["rustChannel"], want_channel)
assert pins["runner"]["version"] == pins["gungraunVersion"], pins
assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", pins["runner"]["hash"]), pins["runner"]
PY

echo "-- flake.lock pins"
python3 - <<'PY'
import json, re
lock = json.load(open("flake.lock"))
nodes = lock["nodes"]
declared = set(nodes[lock["root"]]["inputs"])
assert declared == {"nixpkgs", "rust-overlay"}, declared
for name in sorted(declared):
    locked = nodes[name]["locked"]
    assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"]), (name, locked)
    assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", locked["narHash"]), (name, locked)
    print(f"{name}: {locked['owner']}/{locked['repo']} {locked['rev']} {locked['narHash']}")
assert nodes["nixpkgs"]["original"]["ref"].startswith("nixos-"), "nixpkgs must follow a release branch"
assert nodes["rust-overlay"]["inputs"]["nixpkgs"] == ["nixpkgs"], "rust-overlay must follow nixpkgs"
PY

# A minimal copy of the flake: `path:.` would copy target/ and the vendored crates into the store.
flake_copy=$(mktemp -d)
trap 'rm -rf "$flake_copy"' EXIT
git ls-files -z -- flake.nix flake.lock Cargo.toml Cargo.lock rust-toolchain.toml harness kernels kernel-cli benches tests packaging \
  | xargs -0 -I{} cp --parents {} "$flake_copy"
cp flake.nix flake.lock "$flake_copy"/   # the working copy, committed or not
echo "-- nix flake metadata --offline (lock matches the declared inputs)"
"${nix_flakes[@]}" flake metadata --offline --no-update-lock-file "path:$flake_copy"

nixpkgs_checkout=${BENCHSEAL_NIXPKGS:-}
overlay_checkout=${BENCHSEAL_RUST_OVERLAY:-}
if [ -n "$nixpkgs_checkout" ] && [ -n "$overlay_checkout" ]; then
  echo "-- nix eval of the real flake (nixpkgs: $nixpkgs_checkout)"
  overrides=(--override-input nixpkgs "path:$nixpkgs_checkout" --override-input rust-overlay "path:$overlay_checkout")
  "${nix_flakes[@]}" eval --offline "${overrides[@]}" --raw "path:$flake_copy#apps.x86_64-linux.bench.program"; echo
  "${nix_flakes[@]}" eval --offline "${overrides[@]}" --raw "path:$flake_copy#packages.x86_64-linux.default.drvPath"; echo
else
  echo "-- NOT evaluated: apps/packages of the flake need local checkouts of the locked inputs:"
  echo "   BENCHSEAL_NIXPKGS=<nixpkgs at $(python3 -c 'import json; print(json.load(open("flake.lock"))["nodes"]["nixpkgs"]["locked"]["rev"])')>"
  echo "   BENCHSEAL_RUST_OVERLAY=<rust-overlay at $(python3 -c 'import json; print(json.load(open("flake.lock"))["nodes"]["rust-overlay"]["locked"]["rev"])')>"
fi
