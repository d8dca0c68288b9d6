#!/usr/bin/env bash
# tests/vm/selftest.sh - quick check of the guest harness (tests/vm/run.sh):
# exit statuses, byte-exact output, timeout, ipvsadm, netns + veth, writes
# through the repository share, environment passing, host-built cargo
# binaries run directly and as cargo's test runner.  Prints one line per
# check and a closing "selftest: N passed, M failed"; exits 1 if any failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
RUN=$HERE/run.sh
cd "$REPO"

pass=0 fail=0 skip=0
ok() { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', want '$3')"; fi; }

TMP=
# shellcheck disable=SC2317  # called through the trap
cleanup() { if [ -n "$TMP" ]; then rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# scratch space inside the repository (shared with the guest, gitignored)
mkdir -p "$REPO/target-vm"
TMP=$(mktemp -d "$REPO/target-vm/selftest.XXXXXX")

st() { rc=0; "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?; }   # sets rc
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# -- make sure everything is installed and built (not part of the timings)
t0=$(date +%s.%N)
"$RUN" --build-only > /dev/null
t1=$(date +%s.%N)
echo "# setup (packages, kernel, initramfs): $(secs "$t0" "$t1") s"

# -- exit statuses 0, 1, 42; two guests at once
st "$RUN" -- true
check "exit status 0" "$rc" 0
"$RUN" -- sh -c 'exit 1' > "$TMP/p1" 2>&1 & p1=$!
"$RUN" -- sh -c 'echo forty-two; exit 42' > "$TMP/p2" 2>&1 & p2=$!
r1=0; wait "$p1" || r1=$?
r2=0; wait "$p2" || r2=$?
check "exit status 1 (parallel run)" "$r1" 1
check "exit status 42 (parallel run)" "$r2" 42
check "output of the parallel run" "$(cat "$TMP/p2")" forty-two

# -- stdout byte-identical: random bytes (all of \0 \r \n \xff ...) + text
head -c 49152 /dev/urandom > "$TMP/blob"
seq 1 3000 >> "$TMP/blob"
printf 'no newline at the end\r' >> "$TMP/blob"
st "$RUN" -- cat "$TMP/blob"
check "cat exit status" "$rc" 0
if cmp -s "$TMP/blob" "$TMP/out"; then ok "stdout byte-identical ($(wc -c < "$TMP/blob") bytes)"
else bad "stdout differs: $(cmp "$TMP/blob" "$TMP/out" 2>&1 | head -n 1)"; fi

# -- stdout + stderr merged in order, cwd, environment, argument quoting
rc=0
(
  cd "$HERE"
  # shellcheck disable=SC2016  # the guest shell expands these
  env RUST_BACKTRACE=1 LVS_SELFTEST='a b'\''c' UNRELATED_VAR=x \
  "$RUN" --env "FOO=bar baz" -- sh -c 'echo out; echo err >&2; pwd; echo "$RUST_BACKTRACE|$LVS_SELFTEST|$FOO|${UNRELATED_VAR-unset}"; printf "[%s]" "$@"' \
    sh 'one arg' '' "it's" '$HOME' '*'
) > "$TMP/out" 2>&1 || rc=$?
check "environment and arguments" "$(cat "$TMP/out")" \
  "out
err
$HERE
1|a b'c|bar baz|unset
[one arg][][it's][\$HOME][*]"

# -- timeout -> 124
t0=$(date +%s)
st "$RUN" --timeout 5 -- sleep 300
t1=$(date +%s)
check "--timeout gives 124" "$rc" 124
if [ $((t1 - t0)) -lt 30 ]; then ok "timeout took $((t1 - t0)) s"; else bad "timeout took $((t1 - t0)) s"; fi

# -- guest kernel panic -> 125 with the console tail
st "$RUN" --timeout 60 -- sh -c 'echo c > /proc/sysrq-trigger; sleep 30'
check "dead guest gives 125" "$rc" 125
if grep -qE 'Kernel panic|sysrq' "$TMP/err"; then ok "console tail printed"; else bad "no console tail on stderr"; fi

# -- ipvsadm, netns + veth, file written through the share
cat > "$TMP/guest.sh" <<'EOF'
set -eu
ipvsadm -A -t 192.0.2.10:80 -s wlc
ipvsadm -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3
ipvsadm -S -n > "$1/ipvs.save"
for s in rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf; do
  ipvsadm -A -u 203.0.113.1:53 -s "$s"; ipvsadm -D -u 203.0.113.1:53
done
echo schedulers-ok
ip netns add a; ip netns add b
ip link add va type veth peer name vb
ip link set va netns a; ip link set vb netns b
ip -n a addr add 192.0.2.1/24 dev va; ip -n b addr add 192.0.2.2/24 dev vb
ip -n a link set va up; ip -n b link set vb up
ip netns exec a ping -c 1 -W 5 192.0.2.2 > /dev/null && echo veth-ok
echo "written in the guest" > "$1/from-guest"
EOF
st "$RUN" -- sh "$TMP/guest.sh" "$TMP"
check "guest script exit status" "$rc" 0
check "ipvsadm -S -n shows the wlc service and real server" "$(cat "$TMP/ipvs.save" 2>/dev/null)" \
  "-A -t 192.0.2.10:80 -s wlc
-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3"
if grep -qx schedulers-ok "$TMP/out"; then ok "all 13 schedulers accepted"; else bad "schedulers: $(tail -n 3 "$TMP/out")"; fi
if grep -qx veth-ok "$TMP/out"; then ok "netns + veth pair, ping across"; else bad "netns/veth: $(tail -n 3 "$TMP/out")"; fi
check "file written in the guest appears on the host" "$(cat "$TMP/from-guest" 2>/dev/null)" "written in the guest"

# -- host-built cargo binary, run directly and through cargo's runner setting
if command -v cargo > /dev/null; then
  C=$REPO/target-vm/vm-selftest
  mkdir -p "$C/src" "$C/tests"
  put() { if ! [ -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then printf '%s\n' "$2" > "$1"; fi; }
  put "$C/Cargo.toml" '[package]
name = "vm-selftest"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]'
  put "$C/src/main.rs" 'fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let t = std::thread::spawn(|| std::fs::read_to_string("/proc/net/ip_vs").is_ok());
    println!("args={args:?} ip_vs={}", t.join().unwrap());
    std::process::exit(args.len() as i32);
}'
  put "$C/tests/guest.rs" '#[test]
fn runs_in_the_guest() {
    assert!(std::path::Path::new("/proc/net/ip_vs").exists(), "no IPVS here");
    assert_eq!(std::env::var("LVS_SELFTEST").as_deref(), Ok("1"));
}'
  if cargo build -q --offline --manifest-path "$C/Cargo.toml" --target-dir "$C/target" 2> "$TMP/cargo.err"; then
    st "$RUN" -- "$C/target/debug/vm-selftest" 'x y' z
    check "cargo binary output" "$(cat "$TMP/out")" 'args=["x y", "z"] ip_vs=true'
    check "cargo binary exit status" "$rc" 2
    rc=0
    (
      cd "$C"
      env LVS_SELFTEST=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$RUN --" \
      cargo test -q --offline --target-dir "$C/target" --test guest
    ) > "$TMP/out" 2>&1 || rc=$?
    if [ "$rc" = 0 ] && grep -q '1 passed' "$TMP/out"; then ok "cargo test with run.sh as the runner"
    else bad "cargo test through the runner (rc $rc): $(tail -n 5 "$TMP/out")"; fi
  else
    bad "cargo build of the selftest crate: $(tail -n 5 "$TMP/cargo.err")"
  fi
else
  echo "skip - no cargo: host-built binary checks"; skip=$((skip + 1))
fi

echo "selftest: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
