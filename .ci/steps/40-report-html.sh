#!/usr/bin/env bash
# The sign-off report's HTML in a real browser: a report is produced end to end through the
# CLI (process engine -> run record -> signoff), rendered by headless Chromium with a
# screenshot, and the SLO matrix is checked to be in the rendered DOM.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

cargo build -q -p benchseal --locked
bin="$PWD/target/debug/benchseal"
work=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$work" "$profile"' EXIT
out="${BENCHSEAL_CI_OUT:-target/ci/report-html}"
mkdir -p "$out"

cat >"$work/slo.toml" <<'TOML'
schema = "benchseal.slo/1"

[[process]]
id = "harness-startup"
command = ["{benchseal}", "--version"]
runs = 5

[[objective]]
id = "harness-startup-p95"
description = "<b>escaped</b> & checked"
workload = "harness-startup"
metric = "latency_p95"
target = "<= 1 min"
priority = "high"

[[objective]]
id = "harness-startup-rss"
workload = "harness-startup"
metric = "peak_rss"
target = "< 1 GiB"
priority = "medium"

[[objective]]
id = "absent-workload"
workload = "codec/display/cp037-10x50/large"
metric = "throughput"
target = ">= 4.1 GiB/s"
priority = "medium"
TOML

"$bin" measure --runs 5 --id harness-startup --out "$work/run.json" -- "$bin" --version >/dev/null
# A throwaway signing key, listed in the scratch directory's allowed_signers: the run and the
# report are signed as a release's would be. The scratch directory is no checkout and the run is
# not of version 0.0.0-ci, which the report records as allowances.
ssh-keygen -q -t ed25519 -N '' -f "$work/ci_key"
printf 'ci@benchseal namespaces="benchseal" %s\n' "$(cut -d' ' -f1,2 "$work/ci_key.pub")" >"$work/allowed_signers"
"$bin" sign --sign-key "$work/ci_key" "$work/run.json" 2>/dev/null
(cd "$work" && "$bin" signoff --version 0.0.0-ci --run run.json --no-processes --allow-dirty \
  --allow-other-commit --allow-other-version --sign-key ci_key --out-dir reports) >/dev/null
html="$work/reports/v0.0.0-ci/signoff.html"
(cd "$work" && "$bin" verify reports/v0.0.0-ci) >/dev/null

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile")
chromium "${flags[@]}" --window-size=1280,2400 --screenshot="$out/signoff.png" "file://$html" >/dev/null 2>&1
chromium "${flags[@]}" --dump-dom "file://$html" 2>/dev/null >"$out/signoff.dom.html"
cp "$html" "$out/signoff.html"

size=$(stat -c %s "$out/signoff.png")
[ "$size" -gt 10000 ] || { echo "screenshot too small ($size bytes)"; exit 1; }
grep -q '<table id="slo-matrix">' "$out/signoff.dom.html" || { echo "SLO matrix missing from the rendered DOM"; exit 1; }
for id in harness-startup-p95 harness-startup-rss absent-workload; do
  grep -q "<code>$id</code>" "$out/signoff.dom.html" || { echo "objective $id missing from the matrix"; exit 1; }
done
grep -q 'skipped' "$out/signoff.dom.html" || { echo "skipped objective not shown"; exit 1; }
if grep -q '<b>escaped</b>' "$out/signoff.dom.html"; then echo "unescaped text in the HTML"; exit 1; fi
echo "report HTML rendered in Chromium: $out/signoff.png ($size bytes), matrix present"
