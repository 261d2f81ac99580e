#!/usr/bin/env bash
# The auditor container, end to end, on a machine that cannot pull from a registry:
#   1. podman/buildah/runc/debootstrap from apt, configured by packaging/containers.conf;
#   2. local stand-ins for the pinned base images (packaging/local-base-images.sh: debootstrap
#      minbase bookworm + the host's pinned toolchain), cached by content key;
#   3. the crates vendored into the build context (packaging/vendor-crates.sh), so the image
#      builds offline, and `podman build` with the base-image arguments overridden;
#   4. runs of the image: the ASLR entry check (refused without the seccomp option, naming it;
#      accepted with it, or with ASLR explicitly allowed), the shipped binaries and their pins,
#      the container markers the environment snapshot reads, and the verdict: a quick tiny run,
#      and the committed baselines verified by themselves, the newest release's also against
#      that run (see "The verdict" below for why not the image's default command,
#      `verify <baseline> --rerun`).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

step_start=$SECONDS
phase() { echo "-- [$((SECONDS - step_start))s] $*"; }
fail() {
  echo "70-container-e2e: FAILED: $*" >&2
  exit 1
}

need=()
for tool in podman buildah runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  phase "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export CONTAINERS_CONF=$repo/packaging/containers.conf

phase "base images"
base_refs=$(bash packaging/local-base-images.sh)
echo "$base_refs"
eval "$base_refs"

phase "vendored crates"
bash packaging/vendor-crates.sh

image=localhost/benchseal-audit:ci
phase "podman build -> $image"
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! podman build --layers \
  --build-arg "BUILDER_IMAGE=$BUILDER_IMAGE" \
  --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
  -t "$image" -f Containerfile . >"$build_log" 2>&1; then
  tail -40 "$build_log" >&2
  fail "podman build"
fi
grep -E '^(toolchain: |[0-9a-f]{64}  /out/bin/)' "$build_log" || true
image_id=$(podman image inspect --format '{{.Id}}' "$image")
echo "image id: $image_id"

unconfined=(--security-opt seccomp=unconfined)
in_image() { podman run --rm "$@"; }

phase "ASLR: without permission the entry check refuses and names the option"
set +e
refusal=$(in_image "$image" benchseal --version 2>&1)
refusal_code=$?
set -e
echo "$refusal"
[ "$refusal_code" -eq 2 ] || fail "expected exit 2 without the seccomp option, got $refusal_code"
grep -qF -- "--security-opt seccomp=unconfined" <<<"$refusal" || fail "the refusal does not name --security-opt seccomp=unconfined"
grep -qF -- "BENCHSEAL_ASLR_MODE=allowed" <<<"$refusal" || fail "the refusal does not name BENCHSEAL_ASLR_MODE=allowed"

phase "ASLR: accepted with seccomp=unconfined, or with ASLR explicitly allowed"
in_image "${unconfined[@]}" "$image" sh -c 'test "$BENCHSEAL_ASLR_MODE" = disabled && test "$GUNGRAUN_ALLOW_ASLR" = no && setarch "$(uname -m)" -R true' \
  || fail "ASLR mode 'disabled' under seccomp=unconfined"
in_image -e BENCHSEAL_ASLR_MODE=allowed "$image" sh -c 'test "$GUNGRAUN_ALLOW_ASLR" = yes' \
  || fail "ASLR mode 'allowed'"
set +e
bad_mode=$(in_image -e BENCHSEAL_ASLR_MODE=sometimes "$image" true 2>&1)
bad_mode_code=$?
set -e
[ "$bad_mode_code" -eq 2 ] && grep -q "must be 'disabled' or 'allowed'" <<<"$bad_mode" || fail "an unknown ASLR mode is not refused: $bad_mode"

phase "shipped binaries and pins"
gungraun_version=$(sh packaging/locked-version.sh gungraun Cargo.lock)
crate_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
inventory=$(in_image "${unconfined[@]}" "$image" sh -c '
  set -e
  benchseal --version
  gungraun-runner --version
  valgrind --version
  for f in benchseal benchseal-bench-wall benchseal-bench-instr gungraun-runner; do test -x "/usr/local/bin/$f"; echo "$f: $(sha256sum "/usr/local/bin/$f" | cut -c1-64)"; done
  ls /benchseal
  ! command -v cargo
  ! command -v rustc
  test -e /run/.containerenv && echo "container marker: /run/.containerenv"
  cat "$BENCHSEAL_IMAGE_INFO"')
echo "$inventory"
grep -qx "benchseal $crate_version" <<<"$inventory" || fail "benchseal --version is not $crate_version"
grep -q "gungraun-runner.* $gungraun_version\$" <<<"$inventory" || fail "gungraun-runner is not $gungraun_version (the locked gungraun)"
grep -qx "valgrind-3.19.0" <<<"$inventory" || fail "valgrind is not 3.19.0"
# What `benchseal env` reads to record the container and which image it was.
grep -qx "container marker: /run/.containerenv" <<<"$inventory" || fail "no /run/.containerenv in the container"
grep -qx "builder_image=\"$BUILDER_IMAGE\"" <<<"$inventory" || fail "the image description lacks its builder image"
for exe in benchseal benchseal_bench_wall benchseal_bench_instr gungraun_runner; do
  shipped=$(sed -n "s/^${exe//_/-}: //p" <<<"$inventory")
  described=$(sed -n "s/^${exe}_sha256=//p" <<<"$inventory")
  [ -n "$described" ] && [ "$described" = "$shipped" ] || fail "the image description's ${exe}_sha256 does not match the file"
done

# The verdict. CI runs the image's default command (`benchseal-verify-committed`:
# `verify <newest committed baseline> --rerun`) on the tiny tier (BENCHSEAL_VERIFY_SIZE=tiny;
# every tier would take far beyond CI's time), and checks its verdict with the rules below.
# Each check with a deterministic outcome must pass:
#   1. `benchseal run --quick --size tiny` in the image exits 0: every output digest equals the
#      committed golden digest and both engines measure inside the container;
#   2. `benchseal verify <committed baseline>` exits 0: its seal and the golden digests beside it;
#   3. the default command re-runs the newest baseline's tiny workloads and re-derives their
#      numbers. Digests must be equal (exit 3 otherwise) and the records sealed (2/3 otherwise),
#      so 2 and 3 fail. Instruction counts come from bench executables built in the image, not
#      the host's, so they are held to the soft limit (0.5%): at least 90% of them must be within
#      it (see below for the workloads whose counts depend on the environment). Wall medians of
#      a quick tiny run in a container against the baseline's would make exit 1 a coin toss (two
#      quick tiny runs in the same image put 11 of 26 wall medians outside the policy), so an
#      exit 1 caused only by wall lines is printed and accepted.
work=$(mktemp -d)
trap 'rm -f "$build_log"; rm -rf "$work"' EXIT
phase "verdict 1: benchseal run --quick --size tiny in the image"
set +e
in_image "${unconfined[@]}" -v "$work:/runs" "$image" benchseal run --quick --size tiny --out /runs
verdict=$?
set -e
[ "$verdict" -eq 0 ] || fail "benchseal run --quick --size tiny in the container exited $verdict"
tiny_runs=("$work"/*.json)
[ ${#tiny_runs[@]} -eq 1 ] && [ -f "${tiny_runs[0]}" ] || fail "expected one run record from the tiny run, found: ${tiny_runs[*]}"

committed_baselines=$(find baselines -mindepth 2 -maxdepth 2 -name '*.json' ! -name digests.json 2>/dev/null | sort || true)
# Numbers of this tree's code are compared with the newest release's baseline only (the one
# the default command picks): an older release's instruction counts describe older code (its
# seal and digests are still checked by verdict 2).
if [ -z "$committed_baselines" ]; then
  phase "verdicts 2 and 3: NOT checked, no baseline is committed under baselines/"
else
  for baseline in $committed_baselines; do
    phase "verdict 2: benchseal verify $baseline (seal, golden digests)"
    set +e
    in_image "${unconfined[@]}" "$image" benchseal verify "$baseline"
    verdict=$?
    set -e
    [ "$verdict" -eq 0 ] || fail "benchseal verify $baseline in the container exited $verdict"
  done
  phase "verdict 3: the image's default command (benchseal-verify-committed) on the tiny tier"
  set +e
  rederived=$(in_image "${unconfined[@]}" -e BENCHSEAL_VERIFY_SIZE=tiny "$image")
  verdict=$?
  set -e
  echo "$rederived"
  grep -qE '^numbers of run .* re-derived from run ' <<<"$rederived" \
    || fail "the default command re-derived no numbers"
  case $verdict in
    0) ;;
    1)
      outside=$(grep -E '^ *OUTSIDE ' <<<"$rederived" || true)
      [ -n "$outside" ] || fail "the default command exited 1 without naming a number outside the policy"
      if grep -vE '^ *OUTSIDE +[^ ]+ (wall|instructions): ' <<<"$outside"; then
        fail "the default command: numbers other than wall medians and instruction counts are outside the policy (above)"
      fi
      # Instruction counts of executables built in the image (not the host's) still move for
      # workloads whose path depends on the environment: file-system calls on the overlay
      # file system (sync/plan) and SIMD loops that align to heap addresses. Measured on
      # 2026-11-24: 38 of 40 equal or within 0.5%, the two others +2.5% and -0.5%. The step
      # requires at least 90% of the compared counts within the soft limit.
      # Counts are a reproduction check for code that did not change: a family whose kernel
      # or bench sources differ from the baseline's commit in anything but comments and blank
      # lines (`git diff`) is expected to count differently, so its instruction lines are
      # printed above but not judged here.
      newest_record=$(find "$(ls -d baselines/*/ | sort -V | tail -n 1)" -maxdepth 1 -name '*.json' ! -name digests.json | head -n 1)
      base_commit=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["artifact"].get("git_commit") or "")' "$newest_record")
      changed=()
      if [ -n "$base_commit" ] && git cat-file -e "$base_commit^{commit}" 2>/dev/null; then
        for family in codec quant sync; do
          code_lines=$(git diff -U0 "$base_commit" HEAD -- "kernels/src/$family" "benches/src/$family.rs" \
            | grep -E '^[-+]' | grep -vE '^(\+\+\+|---)' | grep -cvE '^[-+][[:space:]]*(//|$)' || true)
          [ "$code_lines" -eq 0 ] || changed+=("$family")
        done
      fi
      judged=$rederived
      if [ ${#changed[@]} -gt 0 ]; then
        changed_re=$(IFS='|'; echo "${changed[*]}")
        judged=$(grep -vE "^ *(ok|OUTSIDE) +($changed_re)/[^ ]+ instructions: " <<<"$rederived" || true)
        echo "instruction counts of ${changed[*]} not judged: their kernel or bench sources changed since the baseline's commit ${base_commit:0:12}"
      fi
      instr_ok=$(grep -cE '^ *ok +[^ ]+ instructions: ' <<<"$judged" || true)
      instr_out=$(grep -cE '^ *OUTSIDE +[^ ]+ instructions: ' <<<"$judged" || true)
      [ $((instr_out * 10)) -le $((instr_ok + instr_out)) ] \
        || fail "the default command: $instr_out of $((instr_ok + instr_out)) instruction counts outside the soft limit (more than 10%)"
      echo "accepted: outside the policy are only wall medians and $instr_out of $((instr_ok + instr_out)) instruction counts (a container build on a shared CI machine against the baseline's host)"
      ;;
    *) fail "the default command exited $verdict (2: bad usage or input, 3: a digest or seal broken)" ;;
  esac
  # The committed baselines were measured on one machine class; on another (CI machines
  # are Intel or AMD), only output digests are comparable and verify says so up front.
  if grep -qE '^ *info +wall clock and instruction counts not comparable \(class ' <<<"$rederived"; then
    echo "another machine class than the baseline's: only output digests compared (as verify states)"
  else
    grep -qE '^ *ok +[^ ]+ instructions: ' <<<"$rederived" || fail "the default command compared no instruction count"
  fi
  grep -qE '^ *ok +.* output digest [0-9a-f]+ equal' <<<"$rederived" || fail "the default command compared no output digest"
fi
phase "container end-to-end passed"
