#!/usr/bin/env bash
# Set up a fresh Debian machine to build this project, build it, and run the
# main job: validate the sample lvs.cf, then the demo (tests/vm/demo.sh): a
# two-router LVS cluster in the test guest that balances load, loses a real
# server and a router, and keeps serving.
#
#   bash setup.sh            # as root (or with sudo available)
#   LVS_CF=/etc/sysconfig/ha/lvs.cf bash setup.sh   # check your own file
#   LVS_NO_DEMO=1 bash setup.sh                     # build and check only
#
# Installs only what is missing. The test guest installs its own packages
# and fetches its kernel the first time it runs (tests/vm/run.sh).
set -euo pipefail
cd "$(dirname "$0")"

MIN_RUST=1.88
LVS_CF=${LVS_CF:-etc/lvs.cf}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: need root to run: $*" >&2; return 1
    fi
}

apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup.sh: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# C toolchain for crates with build scripts; iproute2 for the namespace
# tests; python3 reads cargo's JSON in the guest test driver. The
# configuration tool's PAM logins (crate pam-sys): the PAM headers and
# libclang, which bindgen loads to read them at build time.
apt_install ca-certificates gcc libc6-dev make pkg-config iproute2 procps python3 \
    libpam0g-dev libclang-dev

# Rust: use what is on PATH (rustup or distribution); Debian's own packages
# are tried only when there is none, and must be recent enough.
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
    apt_install cargo rustc
fi
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$MIN_RUST" "$have" | sort -V | head -n1)" != "$MIN_RUST" ]; then
    echo "setup.sh: rustc $have is older than $MIN_RUST; install a newer toolchain (rustup)" >&2
    exit 1
fi
if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
fi

cargo build --release --workspace --locked

echo "== lvsd --check -c $LVS_CF"
./target/release/lvsd --check -c "$LVS_CF"
echo "== lvsd --dry-run -c $LVS_CF"
./target/release/lvsd --dry-run -c "$LVS_CF"

if [ "${LVS_NO_DEMO:-0}" != 1 ]; then
    echo "== the demo: two routers, three real servers, one client (tests/vm/demo.sh)"
    as_root env DEMO_NO_BUILD=1 PATH="$PATH" bash tests/vm/demo.sh
fi
