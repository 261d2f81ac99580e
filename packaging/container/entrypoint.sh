#!/usr/bin/env sh
# Entry point of the auditor image: settles how ASLR is handled before anything is measured,
# then runs the command (by default benchseal-verify-committed).
#
# gungraun switches ASLR off for each valgrind run through `setarch -R`, i.e.
# personality(ADDR_NO_RANDOMIZE). The default seccomp profiles of podman and docker refuse that
# call, so inside a container there are two honest choices, and BENCHSEAL_ASLR_MODE names the one
# taken (the environment snapshot records it):
#   disabled (default)  ASLR off as on a bare machine; needs `--security-opt seccomp=unconfined`.
#   allowed             ASLR stays on (GUNGRAUN_ALLOW_ASLR=yes); instruction counts may then
#                       differ slightly from a baseline recorded with ASLR off.
# A run that cannot honour the chosen mode stops here with exit code 2 and names the option to
# add, rather than failing later inside valgrind or measuring under a silent fallback.
set -eu

mode=${BENCHSEAL_ASLR_MODE:-disabled}
case "$mode" in
  disabled)
    if ! setarch "$(uname -m)" -R true 2>/dev/null; then
      cat >&2 <<MSG
benchseal container: ASLR cannot be switched off here: personality(ADDR_NO_RANDOMIZE) is refused,
  which is what the container engine's default seccomp profile does.
  Add this option to the run command:   --security-opt seccomp=unconfined
    e.g. podman run --rm --security-opt seccomp=unconfined IMAGE
  or, to measure with ASLR left on (recorded as such):   -e BENCHSEAL_ASLR_MODE=allowed
MSG
      exit 2
    fi
    export GUNGRAUN_ALLOW_ASLR=no
    ;;
  allowed)
    export GUNGRAUN_ALLOW_ASLR=yes
    ;;
  *)
    echo "benchseal container: BENCHSEAL_ASLR_MODE must be 'disabled' or 'allowed', not '$mode'" >&2
    exit 2
    ;;
esac
export BENCHSEAL_ASLR_MODE="$mode"

if [ "$#" -eq 0 ]; then
  set -- benchseal-verify-committed
fi
exec "$@"
