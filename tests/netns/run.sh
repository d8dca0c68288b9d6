#!/usr/bin/env bash
# tests/netns/run.sh - run every test that needs network namespaces on the
# host (root, iproute2): the pulse failover rig, send_arp's frame capture,
# rtnetlink addresses and links.
#
# Usage: tests/netns/run.sh [-- TEST-ARGS...]
#
# For every workspace package with a cargo feature named "netns-tests":
#   cargo test -p PKG --features netns-tests -- --test-threads=1 [TEST-ARGS...]
# One test at a time: the failover tests measure takeover times, and two
# rigs sharing the two cores would measure each other.
# Prints "netns: N passed, M failed" (tests, summed over the packages) and
# exits 1 if anything failed. The tests create and remove their own
# namespaces (named after their PID) and use documentation addresses only.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
[ "${1:-}" = -- ] && shift
if [ "$(id -u)" -ne 0 ]; then
    echo "tests/netns/run.sh: needs root (network namespaces)" >&2
    exit 1
fi
command -v ip >/dev/null || { echo "tests/netns/run.sh: needs iproute2 (ip)" >&2; exit 1; }

# Some tests run other packages' daemons (lvs-admin's run lvsd): build
# them all first, as a fresh target directory would not have them.
cargo build --workspace --bins --locked
mkdir -p target
before=$(ip netns list | awk '{print $1}' | sort)
log=target/netns-tests.log
: > "$log"
rc=0
for manifest in crates/*/Cargo.toml bin/*/Cargo.toml; do
    grep -q '^netns-tests *=' "$manifest" || continue
    pkg=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n1)
    printf '\n== netns: %s\n' "$pkg"
    cargo test -p "$pkg" --features netns-tests --locked -- --test-threads=1 "$@" 2>&1 | tee -a "$log" ||
        rc=1
done
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "netns: %d passed, %d failed\n", p, f }' "$log"
# Nothing the tests made may outlive them.
left=$(comm -13 <(echo "$before") <(ip netns list | awk '{print $1}' | sort) | tr '\n' ' ')
if [ -n "${left// /}" ]; then
    echo "tests/netns/run.sh: namespaces left behind: $left" >&2
    rc=1
fi
exit "$rc"
