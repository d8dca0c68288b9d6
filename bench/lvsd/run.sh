#!/usr/bin/env bash
# Reload benchmark of lvsd's reconcile path (parse, desired table, kernel
# dump, diff, apply), in the qemu guest against the real kernel, plus the
# same on the host against the in-memory table.
#
#   bench/lvsd/run.sh            # 1,000 x 4 and 2,300 x 16 (~37,000 real servers)
#   bench/lvsd/run.sh V S        # one size
#
# Side by side with keepalived 2.2.7 (the Debian package, installed on the
# host if missing and copied into the guest with its libraries): the real
# daemons, lvsd then keepalived in one guest boot, each reloaded (SIGHUP)
# with one weight changed; see README.md for what is measured.
#
#   bench/lvsd/run.sh --keepalived [V S]     # default 2,300 x 16
#   env: BENCH_RUNS (5 reloads each), BENCH_KA_RUNS (= BENCH_RUNS),
#        BENCH_INTERVAL (check interval, 120 s), BENCH_RUN_TIMEOUT (one
#        reload, 900 s), BENCH_VM_TIMEOUT (whole guest, 5400 s),
#        BENCH_DOWN=1 (lower the watched weight 100 -> 99 ... instead of
#        raising it 1 -> 2 ...); BENCH_RUNS=0 or BENCH_KA_RUNS=0 skips one
#
# Not part of CI. Guest CPU is emulated (14-22x slower than the host):
# compare guest figures only with guest figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --keepalived ]; then
  shift
  V=${1:-2300} S=${2:-16}
  TARGET=${CARGO_TARGET_DIR:-$PWD/target}
  cargo build --release --locked -p lvs -p nanny
  cargo build --release --locked -p ipvs --example bench_sighup
  if ! [ -x /usr/sbin/keepalived ]; then
    echo "bench: installing keepalived (Debian package) on the host" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends keepalived >&2
  fi
  kav=$(/usr/sbin/keepalived --version 2>&1 || true)
  case "${kav%%$'\n'*}" in
    *" v2.2.7 "*) ;;
    *) echo "bench: warning: ${kav%%$'\n'*}, not 2.2.7" >&2 ;;
  esac
  # keepalived and the libraries the guest lacks, run with LD_LIBRARY_PATH
  # (the guest's initramfs stays as it is).
  B=$TARGET/bench-lvsd
  rm -rf "$B"; mkdir -p "$B/keepalived/bin" "$B/keepalived/lib"
  cp /usr/sbin/keepalived "$B/keepalived/bin/"
  ldd /usr/sbin/keepalived | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
    case "$lib" in */libc.so.*|*/ld-linux*) ;; *) cp -L "$lib" "$B/keepalived/lib/" ;; esac
  done
  cp "$TARGET/release/lvsd" "$TARGET/release/nanny" "$TARGET/release/examples/bench_sighup" "$B/"
  OUT=$PWD/bench/out/lvsd-keepalived
  rm -rf "$OUT"; mkdir -p "$OUT"
  RUNS=${BENCH_RUNS:-5}
  tests/vm/run.sh --smp 2 --mem 4G --timeout "${BENCH_VM_TIMEOUT:-5400}" --share "$B" -- \
    bash bench/lvsd/guest.sh "$B" "$B/keepalived" "$V" "$S" "${BENCH_INTERVAL:-120}" \
      "$RUNS" "${BENCH_KA_RUNS:-$RUNS}" "${BENCH_RUN_TIMEOUT:-900}" "$OUT" "${BENCH_DOWN:-0}"
  echo "logs: $OUT"
  summary() {   # summary NAME: "runs min median max" of its reload_ms
    grep "^$1 run" "$OUT/results.txt" | grep -o 'reload_ms [0-9.]*' | awk '{print $2}' | sort -n |
      awk '{v[NR] = $1} END {if (NR == 0) {print "0 - - -"; exit}
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%d %.1f %.1f %.1f\n", NR, v[1], m, v[NR]}'
  }
  read -r ln lmin lmed lmax <<< "$(summary lvsd)"
  read -r kn kmin kmed kmax <<< "$(summary keepalived)"
  echo "lvsd:       $ln runs, reload min / median / max: $lmin / $lmed / $lmax ms"
  echo "keepalived: $kn runs, reload min / median / max: $kmin / $kmed / $kmax ms"
  if [ "$ln" -gt 0 ] && [ "$kn" -gt 0 ]; then
    awk -v a="$lmed" -v b="$kmed" -v c="$lmin" -v d="$kmin" -v e="$lmax" -v f="$kmax" \
      'BEGIN {printf "ratio lvsd / keepalived: median %.4f (min %.4f, max %.4f)\n", a / b, c / d, e / f}'
  fi
  exit 0
fi
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
