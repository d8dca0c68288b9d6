#!/usr/bin/env bash
# tests/vm/demo.sh - one command that shows a real LVS cluster working.
#
# Usage: bash tests/vm/demo.sh [-v] [--direct]
#   -v        also print the daemons' own log lines
#   --direct  direct routing instead of NAT
#
# Boots the project's test guest (this machine's kernel need not have IPVS)
# and, inside it, builds two routers running pulse, three real servers and a
# client in network namespaces, then narrates: start, load spread, a real
# server failing and returning, a reload, a router failing over, the old
# primary returning. Exits 0 only if every step behaved as narrated.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
args=()
for a in "$@"; do
    case "$a" in
        -v|--direct) args+=("$a") ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "${DEMO_NO_BUILD:-}" ]; then
    cargo build --release --locked --bins -q
fi
exec tests/vm/run.sh --timeout 300 --mem 768M -- bash tests/vm/demo-guest.sh "${args[@]}" target/release
