#!/usr/bin/env bash
# The Slurm fleet scripts (deploy/slurm/, README "Running on a fleet"), end to end on a
# one-node cluster on localhost:
#   1. slurm-wlm and munge from apt (when missing); a munge key, munged on its own socket,
#      and a slurm.conf (the node's CPUs and memory from `slurmd -C`; select/cons_tres,
#      proctrack/linuxproc, task/none: no cgroups, no systemd), with every spool, state, pid
#      and log file under a temporary directory; slurmctld and slurmd started directly;
#   2. an unsharded `run --quick --size tiny` (timed), promoted with `baseline save` to the
#      baseline of a scratch store, and a throwaway signing key;
#   3. deploy/slurm/submit.sh with --shards 2 on the same selection (timed from submission to
#      the merged record): a job array of two shards, then merge + sign-off (afterok);
#   4. checks: two shard records of disjoint cases whose union is the unsharded run's cases,
#      a merged record listing both parts, with the unsharded run's digests and instruction
#      counts, and a sign-off against the scratch baseline that exits 0 with GO.
# The daemons are stopped on exit; on a failure their logs and the jobs' output are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

step_start=$SECONDS
phase() { echo "-- [$((SECONDS - step_start))s] $*"; }

need=()
for tool in slurmctld slurmd sbatch munged; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  phase "apt-get install slurm-wlm munge (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends slurm-wlm munge >/dev/null
fi
slurmctld -V

cargo build -q --release -p benchseal --locked
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/release/benchseal

work=$(mktemp -d /tmp/benchseal-slurm.XXXXXX)
chmod 0755 "$work"
pids=()
dump_logs() {
  for log in "$work"/slurm/*.log "$work"/munge/munged.log "$work"/fleet/logs/*.out "$work"/unsharded.log; do
    [ -f "$log" ] || continue
    echo "==== $log (last 60 lines)" >&2
    tail -n 60 "$log" >&2
  done
}
cleanup() {
  local code=$?
  if [ "$code" -ne 0 ]; then
    echo "55-slurm: FAILED (exit $code); the cluster's logs follow" >&2
    dump_logs
  fi
  # Jobs still running (a timeout) first: their steps outlive slurmd. Cancelled through the
  # controller, then whatever of theirs is left, by the pids slurmd lists.
  if [ -n "${SLURM_CONF:-}" ] && scontrol ping >/dev/null 2>&1; then
    mapfile -t jobs < <(squeue -h -o %A 2>/dev/null)
    if [ ${#jobs[@]} -gt 0 ]; then
      scancel "${jobs[@]}" 2>/dev/null || true
      for _ in $(seq 30); do
        [ -n "$(squeue -h -t R,CG -o %A 2>/dev/null)" ] || break
        sleep 1
      done
      for job in "${jobs[@]}"; do
        scontrol listpids "$job" 2>/dev/null | awk 'NR > 1 { print $1 }' | xargs -r kill -9 2>/dev/null || true
      done
    fi
  fi
  # Our own daemons, by the pids we started, newest first.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT
fail() {
  echo "55-slurm: $*" >&2
  exit 1
}
wait_for() { # wait_for SECONDS WHAT COMMAND…: polls COMMAND every second
  local limit=$1 what=$2
  shift 2
  local until=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$until" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 1
  done
}

phase "munge"
mkdir -p "$work/munge" "$work/slurm/spool" "$work/slurm/state"
chmod 0700 "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key"
chmod 0400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" \
  --log-file="$work/munge/munged.log" >>"$work/munge/munged.stdout.log" 2>&1 &
pids+=($!)
wait_for 30 "munged" test -S "$socket"
munge -n -S "$socket" | unmunge -S "$socket" >/dev/null

phase "slurm.conf"
node=$(hostname -s)
# `slurmd -C` prints this machine as a NodeName line: CPUs, sockets, cores, RealMemory.
hardware=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+ //')
# The controller and the node must run on ports no other service here holds.
read -r ctld_port slurmd_port < <(python3 - <<'PY'
import socket
ports = []
sockets = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
)
conf=$work/slurm/slurm.conf
cat >"$conf" <<EOF
ClusterName=benchseal-ci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
SlurmdTimeout=120
NodeName=$node NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=ci Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
cat "$conf"
export SLURM_CONF=$conf

phase "slurmctld, slurmd"
slurmctld -D -f "$conf" >"$work/slurm/slurmctld.stdout.log" 2>&1 &
pids+=($!)
wait_for 60 "slurmctld to answer" scontrol ping
slurmd -D -f "$conf" -N "$node" >"$work/slurm/slurmd.stdout.log" 2>&1 &
pids+=($!)
node_idle() { [ "$(sinfo -h -N -n "$node" -o %T | tr -d '*~#')" = idle ]; }
wait_for 90 "node $node to be idle (sinfo: $(sinfo -h -N -o '%N %T' 2>&1 || true))" node_idle
sinfo -N -l

phase "unsharded run (the reference)"
selection=(--quick --size tiny)
started=$SECONDS
"$bin" run "${selection[@]}" --out "$work/unsharded" >"$work/unsharded.log" 2>&1 ||
  fail "the unsharded run failed: $(tail -n 20 "$work/unsharded.log")"
unsharded_s=$((SECONDS - started))
unsharded=$(echo "$work"/unsharded/*.json)
[ -f "$unsharded" ] || fail "expected one record in $work/unsharded, found: $unsharded"
class=$("$bin" env --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["machine_class"])')
echo "machine class: $class; committed baselines of it: $(ls baselines/*/"$class".json 2>/dev/null || echo none)"

# The sign-off judges the merged record against a baseline of its class. A committed one is
# of another commit and bench build (and maybe class), so a scratch store holds the unsharded
# run as the baseline, signed by a throwaway key that a scratch allowed_signers trusts.
ssh-keygen -q -t ed25519 -N '' -f "$work/ci_key"
printf 'ci@benchseal namespaces="benchseal" %s\n' "$(cut -d' ' -f1,2 "$work/ci_key.pub")" >"$work/allowed_signers"
"$bin" sign --sign-key "$work/ci_key" "$unsharded" 2>/dev/null
"$bin" baseline save --version 0.0.0-ci --from "$unsharded" --baselines-dir "$work/baselines" \
  --runs-dir "$work/unsharded" --sign-key "$work/ci_key" >/dev/null
cat >"$work/slo.toml" <<'TOML'
schema = "benchseal.slo/1"

[[objective]]
id = "digest-reproducibility"
description = "Every output digest equals the golden digest (and the baseline's)"
metric = "digest_reproducibility"
target = "== 100 %"
priority = "critical"
TOML
version=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "benchseal"))')

phase "deploy/slurm/submit.sh --shards 2"
fleet=$work/fleet
started=$SECONDS
submitted=$(deploy/slurm/submit.sh --shards 2 --version "$version" --out "$fleet" --benchseal "$bin" \
  --sign-key "$work/ci_key" --allowed-signers "$work/allowed_signers" \
  --signoff "--baseline 0.0.0-ci --baselines-dir $work/baselines --slo $work/slo.toml --no-processes" \
  -- "${selection[@]}")
echo "$submitted"
array_job=$(sed -n 's/^array_job=//p' <<<"$submitted")
merge_job=$(sed -n 's/^merge_job=//p' <<<"$submitted")
if [ -z "$array_job" ] || [ -z "$merge_job" ]; then fail "submit.sh printed no job ids"; fi
squeue
merged_s=
jobs_done() {
  [ -z "$merged_s" ] && [ -f "$fleet/merged.json" ] && merged_s=$((SECONDS - started))
  [ -z "$(squeue -h -j "$array_job,$merge_job" -o %i 2>/dev/null)" ]
}
limit=${BENCHSEAL_SLURM_TIMEOUT:-1800}
until jobs_done; do
  [ $((SECONDS - started)) -lt "$limit" ] || {
    squeue
    fail "the fleet jobs did not finish within ${limit}s (BENCHSEAL_SLURM_TIMEOUT)"
  }
  sleep 2
done
finished_s=$((SECONDS - started))
job_field() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -u | paste -sd, -; }
echo "array job $array_job: $(job_field "$array_job" JobState) exit $(job_field "$array_job" ExitCode)"
echo "merge job $merge_job: $(job_field "$merge_job" JobState) exit $(job_field "$merge_job" ExitCode)"
[ "$(job_field "$array_job" JobState)" = COMPLETED ] || fail "a shard job did not complete"
[ -f "$fleet/merged.json" ] || fail "no merged record: $fleet/merged.json"
signoff_exit=$(cat "$fleet/signoff.exit" 2>/dev/null || echo none)
cat "$fleet"/logs/merge-signoff-*.out

phase "checks"
python3 - "$unsharded" "$fleet" "$signoff_exit" "$version" <<'PY'
import glob, json, os, sys

unsharded_path, fleet, signoff_exit, version = sys.argv[1:]
problems = []

def cases(record):
    """(id@path) -> (output digest, instruction count) of every case a record measured."""
    out = {}
    for w in record["workloads"]:
        for p in w["paths"]:
            instr = (p.get("instr") or {}).get("metrics") or {}
            out[f"{w['id']}@{p['path']}"] = (p.get("output_sha256"), instr.get("instructions"))
    return out

unsharded = json.load(open(unsharded_path))
reference = cases(unsharded)
if not unsharded.get("complete") or not unsharded.get("seal"):
    problems.append("the unsharded record is not complete and sealed")
counted = sum(1 for digest, instr in reference.values() if digest and instr)
if counted == 0:
    problems.append("the unsharded run counted no instructions")

shards = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(fleet, "shards", "*.json")))]
if len(shards) != 2:
    problems.append(f"{len(shards)} shard records, 2 expected")
taken = []
for s in shards:
    shard = s.get("shard") or {}
    if shard.get("count") != 2:
        problems.append(f"{s['run_id']}: shard {shard.get('index')}/{shard.get('count')}, not of 2")
    if set(shard.get("selection", [])) != set(reference):
        problems.append(f"{s['run_id']}: its selection is not the unsharded run's cases")
    if set(cases(s)) != set(shard.get("cases", [])):
        problems.append(f"{s['run_id']}: measured other cases than it lists")
    taken.append(set(shard.get("cases", [])))
if sorted(s.get("shard", {}).get("index") for s in shards) != [0, 1]:
    problems.append("the shards are not 0/2 and 1/2")
if len(taken) == 2:
    if taken[0] & taken[1]:
        problems.append(f"cases in both shards: {sorted(taken[0] & taken[1])}")
    if taken[0] | taken[1] != set(reference):
        problems.append(f"shards' cases != unsharded cases; missing {sorted(set(reference) - (taken[0] | taken[1]))}")
    if not taken[0] or not taken[1]:
        problems.append("a shard took no case")

merged = json.load(open(os.path.join(fleet, "merged.json")))
parts = merged.get("parts", [])
if sorted((p["index"], p["count"]) for p in parts) != [(0, 2), (1, 2)]:
    problems.append(f"merged record's parts: {[(p['index'], p['count']) for p in parts]}")
if not merged.get("complete") or not merged.get("seal"):
    problems.append("the merged record is not complete and sealed")
got = cases(merged)
# Digests and instruction counts must be equal: the identical bench executables, and each
# valgrind child builds only its own case from a fixed-length case list, so what else a run
# selected does not move a count.
for k in sorted(set(reference) | set(got)):
    if reference.get(k) != got.get(k):
        problems.append(f"{k}: {reference.get(k)} unsharded, {got.get(k)} merged")
if merged["artifact"]["bench_executables"] != unsharded["artifact"]["bench_executables"]:
    problems.append("the merged record measured other bench executables than the unsharded run")
if merged["env"]["machine_class"] != unsharded["env"]["machine_class"]:
    problems.append("the merged record is of another machine class")

report_dir = os.path.join(fleet, "reports", f"v{version}")
for name in ("signoff.md", "signoff.html", "signoff.json"):
    if not os.path.isfile(os.path.join(report_dir, name)):
        problems.append(f"no {name} in {report_dir}")
report = json.load(open(os.path.join(report_dir, "signoff.json"))) if os.path.isfile(os.path.join(report_dir, "signoff.json")) else None
if report is not None:
    decision, repro = report["decision"], report["reproducibility"]
    print(f"sign-off: {decision['verdict']} (exit {signoff_exit}); reasons: {decision['reasons']}")
    if str(decision["exit_code"]) != signoff_exit:
        problems.append(f"signoff exited {signoff_exit}, its report says {decision['exit_code']}")
    if signoff_exit != "0" or not decision["go"]:
        problems.append(f"signoff exited {signoff_exit} ({decision['verdict']}), 0 (GO) expected; "
                        f"reproduced {repro['reproduced']}/{repro['checked']}, {repro['mismatches'][:3]}")
if problems:
    print("slurm fleet run:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"slurm fleet run: 2 shards ({len(taken[0])} + {len(taken[1])} cases = {len(reference)}), "
      f"merged record equal to the unsharded run in every digest and all {counted} "
      f"instruction counts; sign-off exit {signoff_exit}")
PY

echo "timings: unsharded run ${unsharded_s}s; sharded (2 shards on one node, submit -> merged record) ${merged_s:-?}s, -> sign-off done ${finished_s}s"
