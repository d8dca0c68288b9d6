#!/usr/bin/env bash
# Reload benchmark of lvsd's reconcile path (parse, desired table, kernel
# dump, diff, apply), in the qemu guest against the real kernel, plus the
# same on the host against the in-memory table.
#
#   bench/lvsd/run.sh            # 1,000 x 4 and 2,300 x 16 (~37,000 real servers)
#   bench/lvsd/run.sh V S        # one size
#
# Not part of CI. Guest CPU is emulated (14-22x slower than the host):
# compare guest figures only with guest figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked -p director --example bench_reload
BIN=$PWD/target/release/examples/bench_reload
sizes=("1000 4" "2300 16")
[ $# -eq 2 ] && sizes=("$1 $2")
for s in "${sizes[@]}"; do
  # shellcheck disable=SC2086
  "$BIN" --memory $s
done
for s in "${sizes[@]}"; do
  # shellcheck disable=SC2086
  tests/vm/run.sh --mem 2G --timeout 1800 -- "$BIN" $s
done
