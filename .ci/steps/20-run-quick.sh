#!/usr/bin/env bash
# End to end: the README's main job on the tiny tier, twice, through the release binary;
# then the record test checks both records (sealed, complete, every tiny workload with
# digests, wall statistics and instruction counts, identical digests and counts).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for attempt in 1 2; do
  echo "-- benchseal run --quick --size tiny ($attempt/2)"
  cargo run --release --locked -p benchseal -- run --quick --size tiny --out "$out"
done
BENCHSEAL_RUN_RECORDS="$out" cargo test --locked -p benchseal-tests --test run_record
