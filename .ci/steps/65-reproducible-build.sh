#!/usr/bin/env bash
# Reproducible builds: two release builds of benchseal from clean exports of HEAD in different
# directories, each with its own target directory, must be bit-identical. Two cold release
# builds are too slow for the everyday `cargo test`, so the test is #[ignore]d there and run here.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
cargo test --locked -p benchseal-tests --test e2e -- --ignored --nocapture packaging::
echo "reproducible-build check: $((SECONDS - start))s"
