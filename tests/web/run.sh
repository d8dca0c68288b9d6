#!/usr/bin/env bash
# tests/web/run.sh - the configuration tool driven through real browsers.
#
# Usage: bash tests/web/run.sh        (as root)
#
# Sets up what a router would have, in a temporary directory: an lvs.cf
# (tests/web/lvs.cf: a real server in two virtuals, a firewall-mark
# virtual, comments), lvs-admin serving it as root on a socket of a test
# group, piranha.passwd written by piranha-passwd with an admin, an editor,
# an operator and a viewer (lvs-web.users; lvs-admin checks the logins),
# and lvs-web running as a test user made for the run (no capabilities, no
# new privileges) on 127.0.0.1 and a free port. No daemon runs, so the
# status page must say so.
# Then:
#   1. tests/web/text-browser.sh: lynx in tmux, keystroke by keystroke: log
#      in, open every page, change a real server's weight, ACCEPT, review
#      the diff on CHANGES, apply it with a reason, check that lvs.cf
#      changed by that one line and HISTORY names the user, log out;
#   2. tests/web/browser/shots.mjs: headless Chromium (Debian's, driven by
#      playwright-core) logs in through the form, stages an edit, and saves
#      a PNG of each main page; a page that did not render fails.
# Each step prints "ok" or "FAIL"; each part ends with a summary line
# ("web (text browser): N passed, M failed"). Exit status 0 only if every
# step passed.
#
# Environment:
#   WEB_NO_BUILD=1   use the binaries already in target/debug (no cargo)
#   WEB_SHOTS=DIR    where the PNGs go (default target/web-screenshots;
#                    WEB_SHOTS=docs/screenshots refreshes the committed ones)
#   WEB_KEEP=1       keep the temporary directory (logs, lvs.cf, revisions)
#
# Installs lynx, tmux and chromium with apt-get when missing. Everything it
# starts is stopped by PID, and the user and group it made are removed, on
# any exit.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"

die() { echo "tests/web/run.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (a test user, lvs-admin serve)"

# -- tools -------------------------------------------------------------------
missing=()
for t in lynx:lynx tmux:tmux chromium:chromium node:nodejs npm:npm ss:iproute2 setpriv:util-linux; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
# Without recommended packages chromium may come with no font at all.
[ -n "$(fc-list 2>/dev/null)" ] || missing+=(fonts-dejavu-core fontconfig)
if [ ${#missing[@]} -gt 0 ]; then
    echo "tests/web/run.sh: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi

if [ "${WEB_NO_BUILD:-}" != 1 ]; then
    cargo build --locked -q -p lvs-admin -p lvs-web -p piranha-passwd || die "cargo build failed"
fi
for b in lvs-admin lvs-web piranha-passwd; do
    [ -x "target/debug/$b" ] || die "target/debug/$b is missing (cargo build -p $b)"
done

# -- the router, in a temporary directory -----------------------------------
T=$(mktemp -d /tmp/lvs-web-test.XXXXXX) || die "mktemp failed"
chmod 0711 "$T"
TEST_USER=lvswt$$
TEST_GROUP=lvswt$$
PIDS=()
MADE_USER=0 MADE_GROUP=0
# This run's own tmux server, its socket inside $T.
TMUX_SOCKET=$T/tmux.sock
export TMUX_SOCKET

# shellcheck disable=SC2317 # run by the trap
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    # Our own tmux server, if the text-browser part left it running.
    [ -S "$TMUX_SOCKET" ] && tmux -S "$TMUX_SOCKET" kill-server 2>/dev/null
    [ "$MADE_USER" = 1 ] && userdel "$TEST_USER" 2>/dev/null
    [ "$MADE_GROUP" = 1 ] && groupdel "$TEST_GROUP" 2>/dev/null
    if [ "${WEB_KEEP:-}" = 1 ]; then
        echo "tests/web/run.sh: kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

groupadd -r "$TEST_GROUP" || die "groupadd $TEST_GROUP failed"
MADE_GROUP=1
useradd -r -M -d /nonexistent -s /usr/sbin/nologin -g "$TEST_GROUP" "$TEST_USER" ||
    die "useradd $TEST_USER failed"
MADE_USER=1

mkdir -p "$T/bin" "$T/etc" "$T/conf" "$T/run" "$T/state"
# Copies: another build may replace target/debug's files during the run.
cp target/debug/lvs-admin target/debug/lvs-web target/debug/piranha-passwd "$T/bin/"
chmod 0755 "$T/bin" "$T/bin/"*
cp tests/web/lvs.cf "$T/etc/lvs.cf"
cp tests/web/lvs.cf "$T/lvs.cf.orig"
chgrp "$TEST_GROUP" "$T/run"
chmod 0750 "$T/run"

# One password per user and run, on piranha-passwd's standard input (not
# argv, which it warns about).
password() { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16; }
declare -A PASSWORD
for u in piranha:admin edna:editor otto:operator vera:viewer; do
    name=${u%%:*}
    PASSWORD[$name]=$(password)
    printf '%s\n' "${PASSWORD[$name]}" |
        "$T/bin/piranha-passwd" --file "$T/conf/piranha.passwd" --user "$name" >>"$T/passwd.log" 2>&1 ||
        { cat "$T/passwd.log" >&2; die "piranha-passwd --user $name failed"; }
    printf '%s %s\n' "$name" "${u#*:}" >>"$T/conf/lvs-web.users"
done
grep -q '^edna:[$]6[$]' "$T/conf/piranha.passwd" || die "piranha-passwd wrote no SHA-512 crypt hash for edna"
# lvs-admin checks the logins (as root); lvs-web never reads these files.
chmod 0700 "$T/conf"

# Every path lvs-admin would otherwise take from the system points into
# $T: it must not signal a pulse or lvsd of this machine.
"$T/bin/lvs-admin" serve -c "$T/etc/lvs.cf" --socket "$T/run/admin.sock" \
    --group "$TEST_GROUP" --state-dir "$T/state" \
    --lvsd-socket "$T/run/lvsd.sock" --lvsd-pidfile "$T/run/lvs.pid" \
    --pulse-socket "$T/run/pulse.sock" --pulse-pidfile "$T/run/pulse.pid" \
    --passwd-file "$T/conf/piranha.passwd" --users-file "$T/conf/lvs-web.users" \
    >"$T/admin.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$T/run/admin.sock" ] && break; sleep 0.1; done
[ -S "$T/run/admin.sock" ] || { cat "$T/admin.log" >&2; die "lvs-admin did not create its socket in 5 s"; }

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        [ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return 0; }
    done
    return 1
}
PORT=$(free_port) || die "no free port found"
URL=http://127.0.0.1:$PORT

setpriv --reuid="$TEST_USER" --regid="$TEST_GROUP" --clear-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- \
    "$T/bin/lvs-web" --listen "127.0.0.1:$PORT" --admin-socket "$T/run/admin.sock" \
    --tokens "$T/run/lvs-web.tokens" --audit-stdout >"$T/web.log" 2>&1 &
WEB_PID=$!
PIDS+=("$WEB_PID")
for _ in $(seq 50); do
    curl -fs -o /dev/null "$URL/login" && break
    kill -0 "$WEB_PID" 2>/dev/null || break
    sleep 0.1
done
curl -fs -o /dev/null "$URL/login" || { cat "$T/web.log" >&2; die "lvs-web did not answer on $URL in 5 s"; }
[ "$(stat -c %U "/proc/$WEB_PID")" = "$TEST_USER" ] || die "lvs-web does not run as $TEST_USER"
echo "tests/web/run.sh: lvs-web (pid $WEB_PID, user $TEST_USER) on $URL, lvs-admin on $T/run/admin.sock"

# -- 1. text browser ---------------------------------------------------------
export T URL TEST_USER
export WEB_USER=edna WEB_PASSWORD=${PASSWORD[edna]}
export WEB_ADMIN_PASSWORD=${PASSWORD[piranha]} WEB_VIEWER_PASSWORD=${PASSWORD[vera]}
bash tests/web/text-browser.sh
rc_text=$?

# -- 2. headless Chromium ----------------------------------------------------
SHOTS=${WEB_SHOTS:-target/web-screenshots}
mkdir -p "$SHOTS"
SHOTS=$(cd "$SHOTS" && pwd)
rc_shots=1
if (cd tests/web/browser && npm ci --no-audit --no-fund --loglevel=error >"$T/npm.log" 2>&1); then
    WEB_SHOTS=$SHOTS WEB_USER=piranha WEB_PASSWORD=${PASSWORD[piranha]} \
        CHROMIUM_PROFILE="$T/chromium-profile" \
        timeout 120 node tests/web/browser/shots.mjs
    rc_shots=$?
else
    cat "$T/npm.log" >&2
    echo "FAIL  npm ci in tests/web/browser"
    echo "web (screenshots): 0 passed, 1 failed"
fi

if [ "$rc_text" != 0 ] || [ "$rc_shots" != 0 ]; then
    echo "tests/web/run.sh: lvs-web's log follows" >&2
    tail -n 40 "$T/web.log" >&2
    exit 1
fi
exit 0
