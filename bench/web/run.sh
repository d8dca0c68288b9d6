#!/bin/sh
# lvs-web's budget (issue 13 item 8): the status page for 100 virtual
# servers x 10 real servers renders in < 50 ms, and the lvs-web process's
# RSS stays < 20 MB under that load. Builds release binaries, then runs
# bin/lvs-web/examples/bench_status.rs against target/release/lvs-web.
# Exit status 1 on a miss.
set -eu
cd "$(dirname "$0")/../.."
cargo build --quiet --release -p lvs-web --bin lvs-web
exec cargo run --quiet --release -p lvs-web --example bench_status -- target/release/lvs-web
