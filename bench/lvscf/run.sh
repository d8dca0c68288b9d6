#!/bin/sh
# Parse benchmark for the lvscf crate: generates a 100,000-line lvs.cf,
# parses it (release build) and reports wall time and peak heap against the
# goals (< 200 ms, peak heap <= 4x file size). Exit status 1 on a miss.
set -eu
cd "$(dirname "$0")/../.."
exec cargo run --quiet --release -p lvscf --example bench_parse
