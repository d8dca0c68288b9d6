#!/usr/bin/env bash
# The project's whole test run: formatting, lints, unit and integration tests
# on the host, the network-namespace tests (pulse failover, send_arp,
# rtnetlink, config sync) as root on the host, the logins and the configuration
# tool in a text browser and headless Chromium, then the real-kernel tests in
# the qemu guest.
#
#   bash tests/run.sh             # everything (what CI runs)
#   LVS_SKIP_VM=1 bash tests/run.sh   # host only, for a quick local loop
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (host)"
cargo test --workspace --locked 2>&1 | tee target/host-tests.log
# cargo prints one "test result:" line per test binary; keep a total.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "host: %d passed, %d failed\n", p, f }' target/host-tests.log

step "network-namespace tests (host, root)"
bash tests/netns/run.sh

step "logins: PAM services and piranha-passwd's files (root)"
cargo test -p access -p piranha-passwd --locked --features root-tests -- --test-threads=1

step "the configuration tool in lynx and headless Chromium (root)"
bash tests/web/run.sh

step "operations: packages, unit, init script, man pages, completions (root)"
bash packaging/check.sh

if [ "${LVS_SKIP_VM:-0}" = 1 ]; then
    step "real-kernel tests skipped (LVS_SKIP_VM=1)"
    exit 0
fi
step "end to end in the guest: two routers with pulse, network = direct (tests/vm/demo.sh --direct)"
bash tests/vm/demo.sh --direct

step "real-kernel tests (qemu guest)"
# Guest tests run the daemons' binaries (lvsd starts nanny), not only test
# binaries: build them all first.
cargo build --workspace --bins --locked
bash tests/vm/ci.sh
