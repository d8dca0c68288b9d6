#!/usr/bin/env bash
# tests/vm/ci.sh - run every test that needs a real IPVS kernel, in qemu guests.
#
# Usage: tests/vm/ci.sh [--timeout SEC] [--no-selftest] [-- TEST-ARGS...]
#
# 1. prepares the guest (tests/vm/run.sh --build-only: packages, kernel,
#    initramfs);
# 2. for every workspace package with a cargo feature named "kernel-tests":
#    cargo test -p PKG --features kernel-tests --no-run, on the host;
# 3. runs each test binary that build produced in its own guest boot:
#    BINARY --test-threads=1 --include-ignored [TEST-ARGS...]
#    (cwd = the package directory, as under cargo test);
# 4. runs tests/vm/selftest.sh (unless --no-selftest);
# 5. prints "vm: N passed, M failed" (N, M count test binaries, failed builds
#    and the selftest) and exits 1 if anything failed.
#
# --timeout SEC: per test binary (default 1200, env VM_TEST_TIMEOUT).
# Uses CARGO_TARGET_DIR if set (through cargo), else the workspace's target/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
RUN=$HERE/run.sh
TIMEOUT=${VM_TEST_TIMEOUT:-1200}
SELFTEST=1
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) [ $# -ge 2 ] || { echo "ci.sh: --timeout needs SEC" >&2; exit 2; }; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --no-selftest) SELFTEST=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) echo "ci.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
TEST_ARGS=("$@")
cd "$REPO"

passed=0 failed=0
results=()
result() {   # result NAME STATUS SECONDS
  if [ "$2" = 0 ]; then passed=$((passed + 1)); results+=("ok    $1 ($3 s)")
  else failed=$((failed + 1)); results+=("FAIL  $1: exit $2 ($3 s)"); fi
}
summary() {
  echo
  echo "== vm summary"
  if [ ${#results[@]} -gt 0 ]; then printf '%s\n' "${results[@]}"; fi
  echo "vm: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vm-ci.XXXXXX")
# shellcheck disable=SC2317  # called through the trap
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- 1. the guest
echo "== vm: preparing the guest"
s=$SECONDS
if ! "$RUN" --build-only; then
  result "guest setup (tests/vm/run.sh --build-only)" 1 $((SECONDS - s))
  summary; exit 1
fi
echo "(setup: $((SECONDS - s)) s)"

# -- 2. packages with a kernel-tests feature, built on the host
# python3 reads cargo's JSON (part of the machine image; installed if missing)
PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-minimal >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-minimal >&2; } || true
  PY=$(command -v python3 || command -v python3.11 || echo python3)
fi
if ! cargo metadata --no-deps --format-version 1 > "$TMP/metadata.json"; then
  result "cargo metadata" 1 0
  summary; exit 1
fi
"$PY" - "$TMP/metadata.json" > "$TMP/packages" <<'EOF'
import json, os, sys
meta = json.load(open(sys.argv[1]))
members = set(meta.get("workspace_members", []))
for p in meta["packages"]:
    if p["id"] in members and "kernel-tests" in p.get("features", {}):
        print(p["name"] + "\t" + os.path.dirname(p["manifest_path"]))
EOF
if ! [ -s "$TMP/packages" ]; then
  echo "== vm: no workspace package has a kernel-tests feature"
fi

# executables: compiler-artifact messages with profile.test == true
list_tests() {
  "$PY" - "$1" <<'EOF'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("profile", {}).get("test"):
        continue
    exe = m.get("executable")
    if exe and exe not in seen:
        seen.add(exe)
        kind = (m["target"].get("kind") or ["test"])[0]
        print(kind + ":" + m["target"]["name"] + "\t" + exe)
EOF
}

while IFS=$'\t' read -r -u 3 pkg dir; do
  echo "== vm: building $pkg (--features kernel-tests)"
  s=$SECONDS
  if ! cargo test -p "$pkg" --features kernel-tests --no-run \
         --message-format=json-render-diagnostics > "$TMP/build-$pkg.json"; then
    result "$pkg: cargo test --no-run" 1 $((SECONDS - s))
    continue
  fi
  list_tests "$TMP/build-$pkg.json" > "$TMP/tests-$pkg"
  if ! [ -s "$TMP/tests-$pkg" ]; then echo "(no test binaries)"; fi
  while IFS=$'\t' read -r -u 4 target exe; do
    echo "== vm: $pkg/$target: ${exe#"$REPO"/} --test-threads=1 --include-ignored ${TEST_ARGS[*]}"
    s=$SECONDS
    rc=0
    ( cd "$dir" &&
      "$RUN" --timeout "$TIMEOUT" --env "CARGO_MANIFEST_DIR=$dir" --env "CARGO_PKG_NAME=$pkg" \
        -- "$exe" --test-threads=1 --include-ignored "${TEST_ARGS[@]}" ) < /dev/null || rc=$?
    result "$pkg/$target" "$rc" $((SECONDS - s))
  done 4< "$TMP/tests-$pkg"
done 3< "$TMP/packages"

# -- 4. the harness itself
if [ "$SELFTEST" = 1 ]; then
  echo "== vm: tests/vm/selftest.sh"
  s=$SECONDS
  rc=0
  "$HERE/selftest.sh" < /dev/null || rc=$?
  result "tests/vm/selftest.sh" "$rc" $((SECONDS - s))
fi

summary
