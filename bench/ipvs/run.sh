#!/usr/bin/env bash
# bench/ipvs/run.sh - program 10,000 services x 4 destinations into the
# guest kernel's IPVS table with the ipvs crate and with `ipvsadm -R`, in one
# guest boot, plus 1,000 weight edits each way; prints both times and ratios.
# Not run in CI, except `--smoke` (100 services).
#
# Usage: bench/ipvs/run.sh [--smoke] [-- extra bench_program args]
# Env: CARGO_TARGET_DIR (default: the repository's target-ipvs), GUEST_MEM (1G).
set -euo pipefail

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target-ipvs}
MEM=${GUEST_MEM:-1G}
ARGS=()
for a in "$@"; do
  case "$a" in
    --) ;;
    *) ARGS+=("$a") ;;
  esac
done

cd "$REPO"
cargo build --release -q -p ipvs --example bench_program
BIN=$CARGO_TARGET_DIR/release/examples/bench_program

RUN=$REPO/tests/vm/run.sh
[ -x "$RUN" ] || RUN=/work/shared/reference/vm/ipvs-vm.sh
exec "$RUN" --mem "$MEM" --timeout 1800 -- "$BIN" "${ARGS[@]}"
