#!/usr/bin/env bash
# Runs inside the qemu guest (bench/lvsd/run.sh --keepalived starts it):
# lvsd, then keepalived, in the same boot, on the same generated table,
# each reloaded RUNS times with one weight changed.
#
#   guest.sh BIN KA_DIR VIRTUALS SERVERS INTERVAL RUNS KA_RUNS RUN_TIMEOUT OUT [DOWN]
#
# The watched weight goes 1 -> 2 -> 3 ... (raised), or with DOWN = 1 it
# starts at 100 and goes 99, 98 ... (lowered). RUNS or KA_RUNS = 0 skips
# that daemon.
# BIN: directory with lvsd, nanny and bench_sighup (release builds).
# KA_DIR: keepalived 2.2.7 (bin/keepalived) and its libraries (lib/).
# Real servers: one namespace "rs" that owns all of 198.51.100.0/24 (on its
# lo) and accepts on the 148 ports; the director (this namespace) routes
# 198.51.100.0/24 to it over a veth, so every TCP check of either daemon
# connects to a listener, and no real server is a local address (IPVS
# would turn those into local-node entries).
set -euo pipefail
BIN=$1 KA=$2 V=$3 S=$4 INTERVAL=$5 RUNS=$6 KA_RUNS=$7 RUN_TIMEOUT=$8 OUT=$9 DOWN=${10:-0}
W0=1 STEP=1
if [ "$DOWN" = 1 ]; then W0=100 STEP=-1; fi
W=/tmp/bench-lvsd
mkdir -p "$W" "$OUT"
BS=$BIN/bench_sighup
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del rs 2>/dev/null || true
}
trap cleanup EXIT

# Thousands of monitors / checks in flight: both daemons need descriptors.
ulimit -Hn 1048576 && ulimit -Sn 1048576
echo "guest: $(nproc) vCPU, $(awk '/MemTotal/ {print $2 / 1024 " MiB"}' /proc/meminfo), kernel $(uname -r)"

ip netns add rs
ip link add veth0 type veth peer name veth1 netns rs
ip addr add 192.0.2.1/24 dev veth0
ip link set veth0 up
ip -n rs link set lo up
ip -n rs addr add 192.0.2.2/24 dev veth1
ip -n rs link set veth1 up
ip -n rs addr add 198.51.100.254/24 dev lo
ip route add 198.51.100.0/24 via 192.0.2.2
ip netns exec rs "$BS" listen "$V" "$S" 14400 > "$OUT/listen.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  if timeout 2 bash -c '</dev/tcp/198.51.100.1/10000' 2>/dev/null; then break; fi
  sleep 0.2
done
timeout 2 bash -c '</dev/tcp/198.51.100.1/10000' || { echo "guest: listener unreachable"; exit 1; }

# hup_runs NAME PID CONF RUNS GEN_CMD...: RUNS reloads with weight
# W0 + STEP, W0 + 2 STEP, ...; GEN_CMD WEIGHT FILE writes the configuration
# with that weight
hup_runs() {
  local name=$1 pid=$2 conf=$3 runs=$4; shift 4
  local i w
  for i in $(seq 1 "$runs"); do
    w=$((W0 + i * STEP))
    "$@" "$w" "$conf.new"
    sleep 5
    echo "$name run $i: $("$BS" hup "$pid" "$V" "$S" "$w" "$conf.new" "$conf" "$RUN_TIMEOUT" 2>&1 | tr '\n' ' ')" |
      tee -a "$OUT/results.txt"
  done
}

stop() {   # stop PID SECONDS: SIGTERM, wait, report
  local pid=$1 t0
  t0=$(date +%s)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$2"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then echo "guest: pid $pid still running; SIGKILL"; kill -KILL "$pid"; fi
  echo "stopped after $(( $(date +%s) - t0 )) s; services left: $(ipvsadm -L -n | grep -c '^TCP' || true)"
  ipvsadm -C
}

: > "$OUT/results.txt"
if [ "$RUNS" -gt 0 ]; then
echo "== lvsd ($V x $S, shared nannies, check interval $INTERVAL s)"
"$BS" lvs-cf "$V" "$S" "$INTERVAL" "$BIN/nanny" "$W0" "$W/lvs.cf"
t0=$(date +%s)
"$BIN/lvsd" -n -c "$W/lvs.cf" --socket "$W/lvsd.sock" > "$OUT/lvsd.log" 2>&1 &
LVSD=$!
PIDS+=("$LVSD")
"$BS" wait "$V" "$S" "$W0" $((INTERVAL * 3 + 600))
echo "lvsd up in $(( $(date +%s) - t0 )) s; nanny processes: $(pgrep -c -x nanny || true)"
sleep 10
hup_runs lvsd "$LVSD" "$W/lvs.cf" "$RUNS" "$BS" lvs-cf "$V" "$S" "$INTERVAL" "$BIN/nanny"
stop "$LVSD" 120
fi

if [ "$KA_RUNS" -gt 0 ]; then
echo "== keepalived ($(LD_LIBRARY_PATH=$KA/lib "$KA/bin/keepalived" --version 2>&1 | head -1), $V x $S, TCP_CHECK, delay_loop $INTERVAL s)"
"$BS" keepalived-conf "$V" "$S" "$INTERVAL" "$W0" "$W/keepalived.conf"
t0=$(date +%s)
env LD_LIBRARY_PATH="$KA/lib" "$KA/bin/keepalived" -C -n -l -f "$W/keepalived.conf" -p "$W/ka.pid" -c "$W/kac.pid" \
  > "$OUT/keepalived.log" 2>&1 &
KAPID=$!
PIDS+=("$KAPID")
"$BS" wait "$V" "$S" "$W0" 1800
echo "keepalived up in $(( $(date +%s) - t0 )) s"
sleep 10
hup_runs keepalived "$KAPID" "$W/keepalived.conf" "$KA_RUNS" "$BS" keepalived-conf "$V" "$S" "$INTERVAL"
stop "$KAPID" 300
fi
