#!/usr/bin/env bash
# The cheapest real-world check of noise-proof verdicts: a paired A/A session. The commit is
# compared with itself (`compare --ab HEAD` on the clean clone: both sides run the same bench
# executables, alternately, in one session) on the sync suite's quick tier. Nothing may gate:
# no failing line, at most one change flagged (and it must not fail), and the identical
# executables must count identical instructions (else exit 3).
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -q --release -p benchseal --locked
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
target/release/benchseal compare --ab HEAD --quick --suite sync --format json >"$out"
code=$?
set -e
python3 - "$out" "$code" <<'PY'
import json, sys
comparison = json.load(open(sys.argv[1]))
code = int(sys.argv[2])
lines = comparison["metrics"]
wall = [m for m in lines if m["metric"] == "wall"]
flagged = [m for m in lines if m["verdict"] in ("regressed", "improved")]
failing = [m for m in lines if m["fails"]]
problems = []
if code != 0:
    problems.append(f"exit {code} (0 expected)")
if comparison["reproducibility"]:
    problems.append(f"reproducibility: {comparison['reproducibility']}")
paired_kinds = ("paired", "paired_same_instructions")
if not wall or any((m.get("basis") or {}).get("kind") not in paired_kinds for m in wall):
    problems.append("wall lines are not all paired same-session lines")
if failing:
    problems.append(f"{len(failing)} failing line(s)")
if len(flagged) > 1:
    problems.append(f"{len(flagged)} of {len(lines)} lines flagged as changed")
for m in flagged:
    print(f"flagged: {m['benchmark']} {m['metric']} {m['verdict']} ratio {m['ratio']:.4f}", file=sys.stderr)
if problems:
    print("paired A/A:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
floors = sorted(m["noise_floor_pct"] for m in wall if m.get("noise_floor_pct") is not None)
print(f"paired A/A: {len(lines)} lines ({len(wall)} wall), {len(flagged)} flagged, none failing; "
      f"median noise floor {floors[len(floors) // 2]:.2f} %")
PY
