#!/usr/bin/env bash
# Submits a fleet run to Slurm: a job array of N shards (shard.sbatch), then the merge and
# sign-off (merge-signoff.sbatch), which starts only when every shard succeeded
# (--dependency=afterok:<array job>) and is cancelled if one fails. Prints the job ids:
#
#   array_job=<id>
#   merge_job=<id>
#
# Run it from the checkout of the commit to measure (the jobs run there: it must be on
# storage every node sees, as must --out):
#
#   deploy/slurm/submit.sh --shards N --version V --out DIR [--benchseal PATH]
#     [--sign-key KEY] [--allowed-signers FILE] [--sbatch 'SBATCH OPTIONS']
#     [--signoff 'SIGNOFF OPTIONS'] [-- BENCHSEAL RUN OPTIONS…]
#
# e.g. deploy/slurm/submit.sh --shards 4 --version 0.1.2 --out /shared/fleet/0.1.2 \
#        --sbatch '--partition=bench-avx512' --signoff '--baseline 0.1.1' -- --quick
#
# --out must not hold shard records yet (a fresh directory per fleet run). --sbatch options
# go to both jobs (partition, constraint, account); --signoff options to `benchseal signoff`.
# --sign-key signs the merged record and the report ($BENCHSEAL_SIGN_KEY in the merge job).
set -euo pipefail

usage() {
  sed -n '/^#   deploy/,/^#     \[--signoff/p' "$0" | sed 's/^# \{0,3\}//' >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
shards=
version=
out=
benchseal=${BENCHSEAL_BIN:-}
sign_key=
allowed_signers=
sbatch_options=()
signoff_options=()
while [ $# -gt 0 ]; do
  case $1 in
    --shards) shards=${2:?--shards N}; shift 2 ;;
    --version) version=${2:?--version V}; shift 2 ;;
    --out) out=${2:?--out DIR}; shift 2 ;;
    --benchseal) benchseal=${2:?--benchseal PATH}; shift 2 ;;
    --sign-key) sign_key=${2:?--sign-key KEY}; shift 2 ;;
    --allowed-signers) allowed_signers=${2:?--allowed-signers FILE}; shift 2 ;;
    --sbatch) read -r -a more <<<"${2?--sbatch OPTIONS}"; sbatch_options+=("${more[@]}"); shift 2 ;;
    --signoff) read -r -a more <<<"${2?--signoff OPTIONS}"; signoff_options+=("${more[@]}"); shift 2 ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "submit.sh: unknown option $1" >&2; usage ;;
  esac
done
if [ -z "$shards" ] || [ -z "$version" ] || [ -z "$out" ]; then usage; fi
case $shards in
  '' | *[!0-9]* | 0) echo "submit.sh: --shards must be a positive number, not $shards" >&2; exit 2 ;;
esac
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }

mkdir -p "$out/shards" "$out/logs"
out=$(cd "$out" && pwd)
if compgen -G "$out/shards/*.json" >/dev/null; then
  echo "submit.sh: $out/shards already holds shard records; use a fresh --out" >&2
  exit 2
fi
# The jobs inherit this environment (sbatch --export=ALL); these are what they read.
if [ -n "$benchseal" ]; then
  BENCHSEAL_BIN=$(absolute "$benchseal")
  export BENCHSEAL_BIN
fi
if [ -n "$sign_key" ]; then
  BENCHSEAL_SIGN_KEY=$(absolute "$sign_key")
  export BENCHSEAL_SIGN_KEY
fi
if [ -n "$allowed_signers" ]; then
  BENCHSEAL_ALLOWED_SIGNERS=$(absolute "$allowed_signers")
  export BENCHSEAL_ALLOWED_SIGNERS
fi

array_job=$(sbatch --parsable --export=ALL --chdir="$PWD" "${sbatch_options[@]}" \
  --array="0-$((shards - 1))" --output="$out/logs/shard-%A_%a.out" \
  "$here/shard.sbatch" "$shards" "$out" "$@")
array_job=${array_job%%;*}
merge_job=$(sbatch --parsable --export=ALL --chdir="$PWD" "${sbatch_options[@]}" \
  --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
  --output="$out/logs/merge-signoff-%j.out" \
  "$here/merge-signoff.sbatch" "$version" "$out" "${signoff_options[@]}")
merge_job=${merge_job%%;*}
echo "array_job=$array_job"
echo "merge_job=$merge_job"
