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
# new privileges) on 127.0.0.1 and a free port.
# Then:
#   1. tests/web/text-browser.sh: lynx in tmux, keystroke by keystroke: log
#      in, see that the status page says no daemon runs (none does yet),
#      open every page, change a real server's weight, ACCEPT, review the
#      diff on CHANGES, apply it with a reason, check that lvs.cf changed
#      by that one line and HISTORY names the user, log out;
#   2. the daemons, without IPVS (this may be a host without it) and
#      without a packet off loopback: lvsd -t -n on that lvs.cf (it logs
#      the IPVS writes it would make, writes none, starts no nanny) and
#      pulse -n -t as the backup of a primary on 127.0.0.2 that never
#      answers, with a deadtime far longer than the run, so that it never
#      becomes active (its own file, $T/etc/pulse.cf: tests/web/lvs.cf's
#      routers are documentation addresses this host does not hold). Their
#      status sockets and pid files are where lvs-admin looks;
#   3. tests/web/text-browser.sh daemons: lynx again, the status page with
#      them running: lvsd's pid, every virtual and real server of the file,
#      their health as lvsd reports it (nothing checked them), pulse's role;
#   4. tests/web/browser/shots.mjs: headless Chromium (Debian's, driven by
#      playwright-core) logs in through the form, stages an edit, and saves
#      a PNG of each main page, the status page with the daemons running; a
#      page that did not render fails.
# Each step prints "ok" or "FAIL"; each part ends with a summary line
# ("web (text browser): N passed, M failed"). Exit status 0 only if every
# step passed.
#
# Environment:
#   CARGO_TARGET_DIR cargo's target directory (default target)
#   WEB_NO_BUILD=1   use the binaries already built there (no cargo)
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

BUILT=${CARGO_TARGET_DIR:-target}/debug
if [ "${WEB_NO_BUILD:-}" != 1 ]; then
    cargo build --locked -q -p lvs-admin -p lvs-web -p piranha-passwd -p lvs -p pulse ||
        die "cargo build failed"
fi
for b in lvs-admin lvs-web piranha-passwd lvsd pulse; do
    [ -x "$BUILT/$b" ] || die "$BUILT/$b is missing (cargo build)"
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
# Copies: another build may replace the built files during the run.
for b in lvs-admin lvs-web piranha-passwd lvsd pulse; do cp "$BUILT/$b" "$T/bin/"; done
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

# free_port t|u: a TCP or UDP port nothing listened on a moment ago.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        [ -z "$(ss -Hl"$1"n "sport = :$p")" ] && { echo "$p"; return 0; }
    done
    return 1
}
PORT=$(free_port t) || die "no free port found"
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

# -- 2. the daemons, no IPVS, nothing off loopback ---------------------------
HB_PORT=$(free_port u) || die "no free UDP port found"
# pulse's own file: this host holds 127.0.0.1, the backup's address, and
# not 127.0.0.2, the primary's, so pulse is the backup; it heartbeats to
# 127.0.0.2, where nothing answers, and would take over only after
# deadtime (a day). Its VIP's device does not exist: were it ever active,
# it could not add the address.
cat >"$T/etc/pulse.cf" <<EOF
serial_no = 1
primary = 127.0.0.2
backup = 127.0.0.1
backup_active = 1
service = lvs
heartbeat = 1
heartbeat_port = $HB_PORT
keepalive = 6
deadtime = 86400
virtual www {
     active = 1
     address = 203.0.113.10 nosuch9:1
     port = 80
     server web1 {
         address = 192.0.2.11
         active = 1
     }
}
EOF
# --lvsd-pidfile: at start pulse looks there for an lvsd left by an
# earlier pulse (it stops one only without -t); here, never the system's.
"$T/bin/pulse" -n -t -c "$T/etc/pulse.cf" --pidfile "$T/run/pulse.pid" \
    --socket "$T/run/pulse.sock" --lvsd-pidfile "$T/run/lvs.pid" >"$T/pulse.log" 2>&1 &
PULSE_PID=$!
PIDS+=("$PULSE_PID")
"$T/bin/lvsd" -t -n -c "$T/etc/lvs.cf" --socket "$T/run/lvsd.sock" >"$T/lvsd.log" 2>&1 &
LVSD_PID=$!
PIDS+=("$LVSD_PID")
# lvsd -n writes no pid file (its supervisor would); lvs-admin finds lvsd
# by one, and checks that the pid is an lvsd's.
echo "$LVSD_PID" >"$T/run/lvs.pid"
# answers NAME: the daemon answers on its status socket.
answers() { "$T/bin/$1" --status --socket "$T/run/$1.sock" >/dev/null 2>&1; }
for _ in $(seq 100); do
    answers lvsd && answers pulse && break
    if ! kill -0 "$LVSD_PID" 2>/dev/null || ! kill -0 "$PULSE_PID" 2>/dev/null; then break; fi
    sleep 0.1
done
answers lvsd || { cat "$T/lvsd.log" >&2; die "lvsd (pid $LVSD_PID) did not answer on $T/run/lvsd.sock in 10 s"; }
answers pulse || { cat "$T/pulse.log" >&2; die "pulse (pid $PULSE_PID) did not answer on $T/run/pulse.sock in 10 s"; }
[ "$(cat "$T/run/pulse.pid" 2>/dev/null)" = "$PULSE_PID" ] || die "pulse did not write its pid to $T/run/pulse.pid"
echo "tests/web/run.sh: lvsd -t (pid $LVSD_PID) and pulse -t (pid $PULSE_PID, backup, heartbeat on 127.0.0.1:$HB_PORT) answer"

# -- 3. the status page with them running, in lynx ---------------------------
export LVSD_PID HB_PORT
bash tests/web/text-browser.sh daemons
rc_daemons=$?

# -- 4. headless Chromium ----------------------------------------------------
SHOTS=${WEB_SHOTS:-target/web-screenshots}
mkdir -p "$SHOTS"
SHOTS=$(cd "$SHOTS" && pwd)
rc_shots=1
if (cd tests/web/browser && npm ci --no-audit --no-fund --loglevel=error >"$T/npm.log" 2>&1); then
    WEB_SHOTS=$SHOTS WEB_USER=piranha WEB_PASSWORD=${PASSWORD[piranha]} WEB_LVSD_PID=$LVSD_PID \
        CHROMIUM_PROFILE="$T/chromium-profile" \
        timeout 120 node tests/web/browser/shots.mjs
    rc_shots=$?
else
    cat "$T/npm.log" >&2
    echo "FAIL  npm ci in tests/web/browser"
    echo "web (screenshots): 0 passed, 1 failed"
fi

if [ "$rc_text" != 0 ] || [ "$rc_daemons" != 0 ] || [ "$rc_shots" != 0 ]; then
    echo "tests/web/run.sh: lvs-web's log follows" >&2
    tail -n 40 "$T/web.log" >&2
    echo "tests/web/run.sh: lvsd's and pulse's logs follow" >&2
    tail -n 20 "$T/lvsd.log" "$T/pulse.log" >&2
    exit 1
fi
exit 0
