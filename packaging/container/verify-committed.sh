#!/usr/bin/env sh
# The image's default command: re-run and re-check the committed baseline of the newest release
# shipped in the image (baselines/<version>/<machine-class>.json).
#
# BENCHSEAL_BASELINE=baselines/<version>/<machine-class>.json picks another one; with several
# machine classes for the newest version, one must be picked that way.
# BENCHSEAL_VERIFY_SIZE=tiny (comma-separated tiers) re-runs only those tiers of it: minutes
# instead of the hour every tier takes.
set -eu
cd /benchseal

if [ -n "${BENCHSEAL_BASELINE:-}" ]; then
  baseline=$BENCHSEAL_BASELINE
else
  latest=$(ls -1d baselines/*/ 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$latest" ]; then
    echo "benchseal-verify-committed: this image carries no baseline under /benchseal/baselines/" >&2
    exit 2
  fi
  candidates=$(ls -1 "$latest" | grep '\.json$' | grep -v '^digests\.json$' || true)
  count=$(printf '%s' "$candidates" | grep -c . || true)
  if [ "$count" -ne 1 ]; then
    echo "benchseal-verify-committed: $latest holds $count machine-class baselines; pick one with" >&2
    echo "  -e BENCHSEAL_BASELINE=${latest}<machine-class>.json   (candidates: $(echo $candidates))" >&2
    exit 2
  fi
  baseline=$latest$candidates
fi

if [ -n "${BENCHSEAL_VERIFY_SIZE:-}" ]; then
  echo "benchseal-verify-committed: benchseal verify $baseline --rerun --size $BENCHSEAL_VERIFY_SIZE" >&2
  exec benchseal verify "$baseline" --rerun --size "$BENCHSEAL_VERIFY_SIZE"
fi
echo "benchseal-verify-committed: benchseal verify $baseline --rerun" >&2
exec benchseal verify "$baseline" --rerun
