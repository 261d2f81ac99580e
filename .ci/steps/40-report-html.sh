#!/usr/bin/env bash
# The sign-off report's HTML in a real browser: a report is produced end to end through the
# CLI (process engine -> run record -> baseline save -> signoff), with two earlier releases
# stored as baselines so that it draws its history charts. Headless Chromium renders it: a
# full-page screenshot, the SLO matrix checked in the rendered DOM, and a first-screen check
# at 1280x800 (a laptop's screen): the decision, the matrix's heading and first row and the
# first history chart must be on it without scrolling, measured by the browser's own layout.
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

# A throwaway signing key, listed in the scratch directory's allowed_signers: the runs, the
# baselines and the report are signed as a release's would be. The scratch directory is no
# checkout and the runs are not of the versions signed off, which the report records as
# allowances.
ssh-keygen -q -t ed25519 -N '' -f "$work/ci_key"
printf 'ci@benchseal namespaces="benchseal" %s\n' "$(cut -d' ' -f1,2 "$work/ci_key.pub")" >"$work/allowed_signers"
# Two earlier releases, each a measured, sealed, signed run promoted to the baseline of its
# version (same machine class as the run signed off), then the release signed off: its report
# has a history of three points per objective.
for v in 0.0.1 0.0.2 0.0.3; do
  "$bin" measure --runs 5 --id harness-startup --out "$work/run-$v.json" -- "$bin" --version >/dev/null
  "$bin" sign --sign-key "$work/ci_key" "$work/run-$v.json" 2>/dev/null
  [ "$v" = 0.0.3 ] && break
  (cd "$work" && "$bin" baseline save --version "$v" --from "run-$v.json" --baselines-dir baselines \
    --runs-dir runs --sign-key ci_key) >/dev/null
done
(cd "$work" && "$bin" signoff --version 0.0.3 --run run-0.0.3.json --no-processes --allow-dirty \
  --allow-other-commit --allow-other-version --sign-key ci_key --baselines-dir baselines \
  --out-dir reports) >/dev/null
html="$work/reports/v0.0.3/signoff.html"
(cd "$work" && "$bin" verify reports/v0.0.3) >/dev/null

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile")
chromium "${flags[@]}" --window-size=1280,2400 --screenshot="$out/signoff.png" "file://$html" >/dev/null 2>&1
chromium "${flags[@]}" --dump-dom "file://$html" 2>/dev/null >"$out/signoff.dom.html"
cp "$html" "$out/signoff.html"

# The first screen. A copy of the report (the report itself runs no script) gets a script
# that writes where the browser laid out each element, as JSON, into the page; the dumped DOM
# carries it out. The screenshot of the same screen is kept beside the full-page one.
probe="$work/reports/v0.0.3/first-screen.html"
python3 - "$html" "$probe" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
script = """<pre id="first-screen-check"></pre>
<script>
function box(selector) {
  const e = document.querySelector(selector);
  if (!e) return null;
  const r = e.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height, width: r.width};
}
const check = {
  viewport: {width: window.innerWidth, height: window.innerHeight, scrollY: window.scrollY},
  elements: {
    "verdict": box("h1 .verdict"),
    "decision": box("#decision"),
    "matrix heading": box("#matrix"),
    "matrix": box("table#slo-matrix"),
    "matrix first row": box("table#slo-matrix tbody tr"),
    "first history chart": box("#history svg"),
  },
};
document.getElementById("first-screen-check").textContent = JSON.stringify(check);
</script>
"""
assert page.count("</body>") == 1
open(sys.argv[2], "w", encoding="utf-8").write(page.replace("</body>", script + "</body>"))
PY
chromium "${flags[@]}" --window-size=1280,800 --screenshot="$out/signoff-first-screen.png" "file://$html" >/dev/null 2>&1
cat >"$work/first_screen.py" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="first-screen-check">(.*?)</pre>', dom, re.S)
if not m or not m.group(1).strip():
    sys.exit("first-screen check: the probe wrote nothing into the page")
check = json.loads(html.unescape(m.group(1)))
view = check["viewport"]
if sys.argv[2] == "--height":
    print(view["height"])
    sys.exit(0)
open(sys.argv[2], "w", encoding="utf-8").write(json.dumps(check, indent=2) + "\n")
if (view["width"], view["height"], view["scrollY"]) != (1280, 800, 0):
    sys.exit(f"first-screen check: viewport {view}, not 1280x800 unscrolled")
failed = []
for name, b in check["elements"].items():
    if b is None:
        failed.append(f"{name}: not in the page")
        continue
    where = f"{name}: top {b['top']:.0f}, bottom {b['bottom']:.0f}, height {b['height']:.0f}"
    # A chart or row cut off at the bottom is not seen: the whole of each must be on screen,
    # except the matrix table, whose top is enough (its first row is checked whole).
    ok = b["height"] > 0 and b["width"] > 0 and 0 <= b["top"] < view["height"]
    if name != "matrix":
        ok = ok and b["bottom"] <= view["height"]
    print(("  ok   " if ok else "  NOT  ") + where)
    if not ok:
        failed.append(where)
if failed:
    sys.exit("not in the first screen (1280x800):\n  " + "\n  ".join(failed))
PY
# --window-size sizes the window, and the page gets what is left of it: where that is not 800
# pixels high, the window is grown by the difference, so the page has a 1280x800 viewport.
probe_at() {
  chromium "${flags[@]}" --window-size="1280,$1" --virtual-time-budget=2000 --dump-dom \
    "file://$probe" 2>/dev/null >"$out/first-screen.dom.html"
}
probe_at 800
inner=$(python3 "$work/first_screen.py" "$out/first-screen.dom.html" --height)
[ "$inner" = 800 ] || probe_at $((1600 - inner))
echo "first screen (1280x800), where the browser laid out:"
python3 "$work/first_screen.py" "$out/first-screen.dom.html" "$out/first-screen.json"

size=$(stat -c %s "$out/signoff.png")
[ "$size" -gt 10000 ] || { echo "screenshot too small ($size bytes)"; exit 1; }
grep -q '<table id="slo-matrix">' "$out/signoff.dom.html" || { echo "SLO matrix missing from the rendered DOM"; exit 1; }
for id in harness-startup-p95 harness-startup-rss absent-workload; do
  grep -q "<code>$id</code>" "$out/signoff.dom.html" || { echo "objective $id missing from the matrix"; exit 1; }
done
grep -q 'skipped' "$out/signoff.dom.html" || { echo "skipped objective not shown"; exit 1; }
if grep -q '<b>escaped</b>' "$out/signoff.dom.html"; then echo "unescaped text in the HTML"; exit 1; fi
grep -q '<div class="panels" id="history">' "$out/signoff.dom.html" || { echo "history panels missing"; exit 1; }
panels=$(grep -o 'aria-label="[^"]* by release (' "$out/signoff.dom.html" | wc -l)
[ "$panels" -ge 1 ] || { echo "no history chart drawn"; exit 1; }
for v in v0.0.1 v0.0.2 v0.0.3; do
  grep -q "class=\"release\"[^>]*>$v<" "$out/signoff.dom.html" || { echo "release $v missing from the history"; exit 1; }
done
echo "report HTML rendered in Chromium: $out/signoff.png ($size bytes), matrix present," \
  "$panels history charts; first screen (1280x800): $out/signoff-first-screen.png"
