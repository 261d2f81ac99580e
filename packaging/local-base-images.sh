#!/usr/bin/env bash
# Builds the two base images the Containerfile needs, locally, for machines that cannot pull
# from a registry (the CI machine): a Debian bookworm minbase root file system made by
# debootstrap stands in for debian:bookworm-slim, and the same plus build-essential and the
# host's pinned Rust toolchain stands in for rust:<channel>-bookworm.
#
# Each image is tagged by a key over what goes into it (the runtime: the debootstrap recipe; the
# builder: that plus its Containerfile and the host toolchain's `rustc -vV`), so a rerun with
# nothing changed finds both and returns at once.
#
# Prints two lines, `RUNTIME_IMAGE=<ref>` and `BUILDER_IMAGE=<ref>`, for --build-arg.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${BENCHSEAL_CI_CACHE:-/var/cache/benchseal-ci}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$repo/rust-toolchain.toml")
host_triple=x86_64-unknown-linux-gnu
toolchain_dir=${RUSTUP_HOME:-$HOME/.rustup}/toolchains/${channel}-${host_triple}

log() { echo "local-base-images: $*" >&2; }

if [ ! -x "$toolchain_dir/bin/rustc" ]; then
  log "the pinned toolchain $channel is not installed at $toolchain_dir"
  log "install it with: rustup toolchain install $channel --profile minimal"
  exit 2
fi
rustc_vv=$("$toolchain_dir/bin/rustc" -vV)
if ! grep -qx "release: $channel" <<<"$rustc_vv"; then
  log "$toolchain_dir/bin/rustc is not release $channel:"
  log "$rustc_vv"
  exit 2
fi

# valgrind is what the runtime needs beyond minbase; util-linux (setarch, which gungraun uses to
# switch ASLR off) is already part of minbase.
debootstrap_args=(--variant=minbase --include=valgrind,ca-certificates bookworm)
runtime_key=$(echo "${debootstrap_args[*]} $mirror" | sha256sum | cut -c1-16)
runtime_ref=localhost/benchseal-base-runtime:$runtime_key

if ! podman image exists "$runtime_ref"; then
  mkdir -p "$cache"
  rootfs_tar=$cache/bookworm-minbase-$runtime_key.tar
  if [ ! -s "$rootfs_tar" ]; then
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    log "debootstrap ${debootstrap_args[*]} -> $rootfs"
    debootstrap "${debootstrap_args[@]}" "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  log "podman import -> $runtime_ref"
  podman import --change 'CMD ["/bin/bash"]' "$rootfs_tar" "$runtime_ref" >/dev/null
fi

builder_containerfile=$(cat <<EOF
FROM $runtime_ref
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential \\
 && rm -rf /var/lib/apt/lists/*
# The layout of the official rust images: toolchains under RUSTUP_HOME, tools on PATH through
# CARGO_HOME/bin.
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY toolchain/ /usr/local/rustup/toolchains/${channel}-${host_triple}/
RUN mkdir -p /usr/local/cargo/bin \\
 && for tool in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do \\
      ln -s /usr/local/rustup/toolchains/${channel}-${host_triple}/bin/\$tool /usr/local/cargo/bin/\$tool; \\
    done \\
 && rustc --version && cargo --version
EOF
)
builder_key=$(printf '%s\n%s\n' "$builder_containerfile" "$rustc_vv" | sha256sum | cut -c1-16)
builder_ref=localhost/benchseal-base-builder:$builder_key

if ! podman image exists "$builder_ref"; then
  ctx=$(mktemp -d "$cache/builder-ctx.XXXXXX")
  trap 'rm -rf "$ctx"' EXIT
  log "staging toolchain $channel from $toolchain_dir"
  # Documentation is 700 MB of the toolchain and nothing in a build reads it.
  mkdir -p "$ctx/toolchain"
  tar -C "$toolchain_dir" --exclude=./share/doc -cf - . | tar -C "$ctx/toolchain" -xf -
  printf '%s\n' "$builder_containerfile" >"$ctx/Containerfile"
  log "podman build -> $builder_ref"
  podman build -q -t "$builder_ref" "$ctx" >/dev/null
fi

echo "RUNTIME_IMAGE=$runtime_ref"
echo "BUILDER_IMAGE=$builder_ref"
