#!/usr/bin/env bash
# The codec against records GnuCOBOL writes: small COBOL programs compiled with `cobc -x`
# under each -fbinary-size rule write every field kind (COMP, COMP-5, short binary, zoned
# with each SIGN clause) and DISPLAY the values; the decode must equal them on every path.
# Those tests are ignored in the plain test run, where cobc may be missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v cobc >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gnucobol >/dev/null
fi
cobc --version | head -n 1

cargo test --locked -p benchseal-kernels --test gnucobol -- --include-ignored
