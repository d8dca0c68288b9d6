#!/usr/bin/env bash
# bench/failover/run.sh - failover time of pulse against keepalived's VRRP,
# both measured in this run, in the same host namespace rig (rig.py).
#
# Usage: bash bench/failover/run.sh [RUNS]   (root; default 5 runs a setting)
#
# Settings compared at equal timers (keepalive = advert_int, deadtime three
# of them, as VRRP's master-down interval): pulse keepalive/deadtime 1/3,
# 0.1/0.3, 0.02/0.06, 0.01/0.03 against keepalived VRRPv2 advert_int 1 and
# VRRPv3 0.1, 0.02, 0.01 (its minimum); pulse also at 2/5, the original's
# defaults; then a
# planned stop (SIGTERM) of the active pulse. Writes the table to stdout.
# Takes about 3-6 minutes; bounded by rig.py's per-run limits.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
command -v keepalived >/dev/null || {
    echo "run.sh: keepalived is needed (apt-get install keepalived)" >&2; exit 1; }
cargo build --release --locked -q -p pulse
# Each run's lines go to stderr as they come; the RESULT line to the table.
rig() {
    local line
    python3 bench/failover/rig.py "$@" --runs "$RUNS" | while IFS= read -r line; do
        printf '%s\n' "$line" >&2
        case "$line" in "RESULT "*) printf '%s\n' "${line#RESULT }" ;; esac
    done
}
out=()
out+=("$(rig --peer pulse --keepalive 1 --deadtime 3)")
for s in "2 5 1 2" "0.1 0.3 0.1 3" "0.02 0.06 0.02 3" "0.01 0.03 0.01 3"; do
    read -r ka dt adv ver <<< "$s"
    out+=("$(rig --peer pulse --keepalive "$ka" --deadtime "$dt")")
    out+=("$(rig --peer keepalived --advert "$adv" --vrrp-version "$ver")")
done
out+=("$(rig --peer pulse --keepalive 2 --deadtime 5 --mode stop)")
out+=("$(rig --peer pulse --keepalive 0.01 --deadtime 0.03 --mode stop)")
echo
echo "keepalived: $(keepalived --version 2>&1 | head -n1); kernel $(uname -r); $(nproc) cores"
printf '%s\n' "${out[@]}"
