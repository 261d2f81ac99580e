#!/usr/bin/env bash
# Crash safety, measured: `kill -9` of `signoff` and `baseline save` at random moments, then a
# check that nothing is corrupt and no report set is mixed. Not part of CI (it takes minutes);
# run it by hand: bash tests/crash/kill9.sh [BENCHSEAL] [TRIALS_PER_COMMAND]
#
# Each trial signs off the committed 0.1.1 baseline record as a run (or saves it as a
# baseline) in a scratch copy, kills the process after a random delay up to the command's
# own duration, and then checks: the report directory is absent or holds exactly one
# consistent, signed set (`benchseal verify` exits 0 or 1, never 3, and every file is there),
# and every baseline record that exists verifies (seal, digests beside it) and every
# digests.json is whole JSON. The first trial of each command
# runs to completion to learn how long it takes.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/benchseal}
bin=$(realpath "$bin")
trials=${2:-30}
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
printf 'crash@test namespaces="benchseal" %s\n' "$(cut -d' ' -f1,2 "$work/key.pub")" >"$work/allowed_signers"
record=$(ls "$repo"/baselines/0.1.1/*.json | grep -v digests.json | head -n 1)
cp "$record" "$work/run.json"
"$bin" sign --sign-key "$work/key" "$work/run.json" 2>/dev/null
cp "$repo/slo.toml" "$work/"
printf "*\n" >"$work/.gitignore"
git -C "$work" init -q && git -C "$work" -c user.name=t -c user.email=t@t commit -q --allow-empty -m x

signoff() {
  (cd "$work" && exec "$bin" signoff --version 0.1.1 --run run.json --no-processes --skip-preconditions \
    --allow-other-commit --sign-key key --out-dir reports >/dev/null 2>&1)
}
save() {
  (cd "$work" && exec "$bin" baseline save --version "0.9.$1" --from run.json \
    --baselines-dir baselines --sign-key key >/dev/null 2>&1)
}

corrupt=0 mixed=0 killed_mid=0
check() {
  local dir=$work/reports/v0.1.1
  if [ -d "$dir" ]; then
    for f in signoff.json signoff.md signoff.html; do
      [ -f "$dir/$f" ] && [ -f "$dir/$f.sig" ] || { echo "mixed: $f or its .sig missing" >&2; mixed=$((mixed + 1)); return; }
    done
    set +e
    (cd "$work" && "$bin" verify reports/v0.1.1 >/dev/null 2>&1)
    local code=$?
    set -e
    if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then
      echo "mixed or corrupt report set: verify exit $code" >&2
      mixed=$((mixed + 1))
    fi
  fi
  for f in "$work"/baselines/*/*.json; do
    [ -e "$f" ] || continue
    if [ "$(basename "$f")" = digests.json ]; then
      python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null \
        || { echo "corrupt $f: not whole JSON" >&2; corrupt=$((corrupt + 1)); }
      continue
    fi
    set +e
    (cd "$work" && "$bin" verify "$f" >/dev/null 2>&1)
    local code=$?
    set -e
    if [ "$code" -eq 3 ] || [ "$code" -eq 2 ]; then
      echo "corrupt baseline file $f: verify exit $code" >&2
      corrupt=$((corrupt + 1))
    fi
  done
}

for command in signoff save; do
  start=$(date +%s%N)
  "$command" 0
  full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "$command: one complete run takes ${full_ms} ms"
  for i in $(seq 1 "$trials"); do
    delay_ms=$(( RANDOM % (full_ms + 1) ))
    "$command" "$i" &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { print ms / 1000 }')"
    if kill -9 "$pid" 2>/dev/null; then killed_mid=$((killed_mid + 1)); fi
    wait "$pid" 2>/dev/null || true
    check
  done
done
echo "kill -9 trials: $((2 * trials)) ($killed_mid killed before they finished); corrupt files: $corrupt; mixed report sets: $mixed"
[ "$corrupt" -eq 0 ] && [ "$mixed" -eq 0 ]
