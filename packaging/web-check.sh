#!/bin/bash
# shellcheck disable=SC2015  # "check && ok || bad": ok never fails
# The configuration tool as installed, run by packaging/check.sh as root:
#
#   unshare -m bash packaging/web-check.sh EXT WORK
#
# EXT: the extracted .deb; WORK: an empty scratch directory. In this
# private mount namespace /etc is an overlay whose passwd and group have
# the package's user and group lvs-web added (the host's are not touched), so
# the installed files run as on a router: the init scripts start lvs-admin
# (root, default group lvs-web) and lvs-web (user lvs-web through setpriv),
# piranha-passwd sets a password, and a login, a page, TLS with the
# generated certificate and an API token are tried over HTTP(S) on
# 127.0.0.1. Then lvs-admin is run under exactly the unit's capability
# bounding set, and an apply keeps a file's group and mode (and fails
# without CAP_CHOWN, so the check measures something). lvs-admin's paths
# to pulse and lvsd point into WORK: no daemon of this machine is
# signalled. Prints ok/FAIL lines and "web: N passed, M failed".
set -u
ext=$1 work=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { failed=$((failed + 1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      /'; }
pids=()
finish() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    echo "web: $passed passed, $failed failed"
    exit 0
}
trap finish EXIT

mount --make-rprivate / || { bad "private mount namespace"; exit; }
# The package's user, as its install scripts make it, with an id the host
# does not use, in /etc under an overlay (not a bind mount of the files:
# useradd on the host renames a new /etc/passwd over the old one, which
# would detach such a mount).
id=64990
while getent passwd "$id" >/dev/null || getent group "$id" >/dev/null; do id=$((id + 1)); done
mkdir -p "$work/etc-overlay/upper" "$work/etc-overlay/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-overlay/upper,workdir=$work/etc-overlay/work" /etc ||
    { bad "overlay over /etc"; exit; }
if ! getent passwd lvs-web >/dev/null; then
    echo "lvs-web:x:$id:$id:LVS configuration tool (lvs-web):/var/lib/lvs-web:/usr/sbin/nologin" >>/etc/passwd
fi
getent group lvs-web >/dev/null || echo "lvs-web:x:$id:" >>/etc/group
gid=$(getent group lvs-web | cut -d: -f3)
[ -n "$gid" ] || { bad "user lvs-web in the overlay's /etc/passwd"; exit; }

# The router's files, laid out as the package does.
conf=$work/conf state=$work/state run=$work/run
mkdir -p "$conf" "$state" "$run" "$work/lock"
chown "root:$gid" "$conf" && chmod 0750 "$conf"
chmod 0755 "$work"
cp "$repo/etc/lvs.cf" "$work/lvs.cf"
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
# lvs-admin checks the logins (as root): its --passwd-file and --users-file.
printf 'OPTIONS="--state-dir %s --lvsd-socket %s/lvsd.sock --lvsd-pidfile %s/lvs.pid --pulse-socket %s/pulse.sock --pulse-pidfile %s/pulse.pid --passwd-file %s/piranha.passwd --users-file %s/lvs-web.users"\n' \
    "$state" "$run" "$run" "$run" "$run" "$conf" "$conf" >"$work/lvs-admin.sysconfig"
web_options="--listen 127.0.0.1:$port --tokens $conf/lvs-web.tokens"
# An lvs-web that still reads the password and users files itself.
if "$ext/usr/sbin/lvs-web" --help 2>&1 | grep -q -- '--passwd '; then
    web_options="$web_options --passwd $conf/piranha.passwd --users $conf/lvs-web.users"
fi
printf 'OPTIONS="%s"\n' "$web_options" >"$work/piranha-gui.sysconfig"
env_init() {
    env LVS_ADMIN_SYSTEMD_DIR="$work/no-systemd" PIRANHA_GUI_SYSTEMD_DIR="$work/no-systemd" \
        LVS_ADMIN_BIN="$ext/usr/sbin/lvs-admin" LVS_WEB_BIN="$ext/usr/sbin/lvs-web" \
        LVS_CF="$work/lvs.cf" LVS_ADMIN_SOCKET="$run/lvs-admin.sock" \
        LVS_ADMIN_PIDFILE="$run/lvs-admin.pid" LVS_ADMIN_SYSCONFIG="$work/lvs-admin.sysconfig" \
        LVS_ADMIN_LOCKFILE="$work/lock/lvs-admin" LVS_ADMIN_INIT="$ext/etc/init.d/lvs-admin" \
        LVS_WEB_STATE="$work/web-state" PIRANHA_GUI_PIDFILE="$run/piranha-gui.pid" \
        PIRANHA_GUI_SYSCONFIG="$work/piranha-gui.sysconfig" PIRANHA_GUI_LOCKFILE="$work/lock/piranha-gui" \
        LVS_ADMIN_LOGFILE="$work/lvs-admin.log" PIRANHA_GUI_LOGFILE="$work/lvs-web.log" \
        "$@"
}
# The init script's output, then what the two processes printed.
init() {
    env_init sh "$ext/etc/init.d/$1" "$2" >"$work/init.out" 2>&1
    local rc=$?
    { echo "-- lvs-admin:"; tail -n 5 "$work/lvs-admin.log"; echo "-- lvs-web:"; tail -n 5 "$work/lvs-web.log"; } \
        >>"$work/init.out" 2>/dev/null
    return "$rc"
}

# ---- the password, as the guide's first step ---------------------------------
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
if printf '%s\n' "$password" | "$ext/usr/sbin/piranha-passwd" --file "$conf/piranha.passwd" >"$work/passwd.out" 2>&1 &&
    grep -q '^piranha:[$]6[$]' "$conf/piranha.passwd"; then
    ok "piranha-passwd: SHA-512 crypt line for piranha in piranha.passwd"
else
    bad "piranha-passwd" "$(cat "$work/passwd.out")"
fi
if setpriv --reuid=lvs-web --regid=lvs-web --init-groups -- cat "$conf/piranha.passwd" >/dev/null 2>&1; then
    bad "piranha.passwd ($(stat -c '%U:%G %a' "$conf/piranha.passwd")) is readable by the web UI's user: the hashes should be root's only"
else
    ok "piranha.passwd is root's only ($(stat -c '%U:%G %a' "$conf/piranha.passwd")): lvs-admin checks the logins"
fi
if setpriv --reuid=lvs-web --regid=lvs-web --init-groups -- sh -c "echo x >>'$conf/piranha.passwd'" 2>/dev/null ||
    setpriv --reuid=lvs-web --regid=lvs-web --init-groups -- touch "$conf/new" 2>/dev/null; then
    bad "user lvs-web can write the configuration directory or piranha.passwd"
else
    ok "user lvs-web cannot write piranha.passwd nor its directory"
fi

# ---- service piranha-gui start: the helper, then the web UI -----------------
init piranha-gui start; rc=$?
[ "$rc" -eq 0 ] && ok "init: piranha-gui start exits 0 (lvs-admin started first)" ||
    bad "init: piranha-gui start (exit $rc)" "$(cat "$work/init.out")"
admin_pid=$(cat "$run/lvs-admin.pid" 2>/dev/null)
web_pid=$(cat "$run/piranha-gui.pid" 2>/dev/null)
pids+=("$admin_pid" "$web_pid")
init lvs-admin status; rc=$?
[ "$rc" -eq 0 ] && ok "init: lvs-admin status exits 0" || bad "init: lvs-admin status (exit $rc)" "$(cat "$work/init.out")"
init piranha-gui status; rc=$?
[ "$rc" -eq 0 ] && ok "init: piranha-gui status exits 0" || bad "init: piranha-gui status (exit $rc)" "$(cat "$work/init.out")"
sock=$(stat -c '%U:%G %a' "$run/lvs-admin.sock" 2>/dev/null)
[ "$sock" = "root:lvs-web 660" ] && ok "lvs-admin's socket is root:lvs-web 0660" || bad "lvs-admin's socket: $sock"
if [ -n "$web_pid" ] && [ -r "/proc/$web_pid/status" ]; then
    st=/proc/$web_pid/status
    user=$(stat -c %U "/proc/$web_pid")
    capbnd=$(awk '/^CapBnd:/ { print $2 }' "$st")
    capeff=$(awk '/^CapEff:/ { print $2 }' "$st")
    nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "$st")
    if [ "$user" = lvs-web ] && [ "$capbnd" = 0000000000000000 ] && [ "$capeff" = 0000000000000000 ] && [ "$nnp" = 1 ]; then
        ok "lvs-web runs as lvs-web, no capability in its bounding set, no_new_privs"
    else
        bad "lvs-web: user $user, CapBnd $capbnd, CapEff $capeff, NoNewPrivs $nnp"
    fi
else
    bad "lvs-web is not running" "$(cat "$work/init.out")"
fi

# ---- a login with the password piranha-passwd set ----------------------------
url=http://127.0.0.1:$port
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/login")
[ "$code" = 200 ] && ok "GET /login: 200" || bad "GET /login: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/status")
[ "$code" = 303 ] && ok "GET /status without a session: 303 to the login" || bad "GET /status without a session: $code"
curl -s -D "$work/login.headers" -o "$work/login.body" -H "Origin: $url" \
    --data-urlencode user=piranha --data-urlencode "password=$password" "$url/login"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' "$work/login.headers" | head -n1)
if grep -q '^HTTP/1.1 303' "$work/login.headers" && [ -n "$cookie" ] &&
    grep -qi '^set-cookie:.*HttpOnly.*SameSite=Strict\|^set-cookie:.*SameSite=Strict.*HttpOnly' "$work/login.headers"; then
    ok "login as piranha with piranha-passwd's password: 303, HttpOnly SameSite=Strict cookie"
else
    bad "login as piranha" "$(cat "$work/login.headers" "$work/login.body" | head -n 20)"
fi
code=$(curl -s -o "$work/status.html" -w '%{http_code}' -H "Cookie: $cookie" "$url/status")
[ "$code" = 200 ] && grep -q 'CONTROL/MONITORING' "$work/status.html" &&
    ok "GET /status logged in: 200, CONTROL/MONITORING (through lvs-admin)" ||
    bad "GET /status logged in: $code" "$(head -c 600 "$work/status.html")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" -H "Origin: https://evil.example" \
    --data 'csrf=x' "$url/logout")
[ "$code" = 403 ] && ok "POST from another origin: 403" || bad "POST from another origin: $code"

# ---- an API token ---------------------------------------------------------------
token=$("$ext/usr/sbin/piranha-passwd" --token ci viewer --tokens-file "$conf/lvs-web.tokens" 2>"$work/token.err")
if setpriv --reuid=lvs-web --regid=lvs-web --init-groups -- cat "$conf/lvs-web.tokens" >/dev/null 2>&1; then
    ok "lvs-web.tokens ($(stat -c '%U:%G %a' "$conf/lvs-web.tokens")) is readable by the web UI, which checks the tokens"
else
    bad "lvs-web.tokens ($(stat -c '%U:%G %a' "$conf/lvs-web.tokens")) is not readable by user lvs-web: the API cannot check a token"
fi
code=$(curl -s -o "$work/api.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$url/api/v1/config")
[ "$code" = 200 ] && grep -q '"digest"' "$work/api.json" &&
    ok "API: piranha-passwd --token, then GET /api/v1/config with it: 200" ||
    bad "API with a token: $code" "$(cat "$work/token.err"; head -c 400 "$work/api.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer lvsweb_$(printf '0%.0s' $(seq 64))" "$url/api/v1/config")
[ "$code" = 401 ] && ok "API: an unknown token: 401" || bad "API: an unknown token: $code"

# ---- stop, then TLS with the generated certificate ------------------------------
init piranha-gui stop; rc=$?
[ "$rc" -eq 0 ] && ! kill -0 "$web_pid" 2>/dev/null && ok "init: piranha-gui stop exits 0, lvs-web gone" ||
    bad "init: piranha-gui stop (exit $rc)" "$(cat "$work/init.out")"
init piranha-gui status; rc=$?
[ "$rc" -eq 3 ] && ok "init: piranha-gui status after stop exits 3" || bad "init: status after stop: exit $rc"
init lvs-admin status; rc=$?
[ "$rc" -eq 0 ] && ok "init: stopping piranha-gui leaves lvs-admin running" || bad "init: lvs-admin status after piranha-gui stop: exit $rc"
printf 'OPTIONS="%s --tls"\n' "$web_options" >"$work/piranha-gui.sysconfig"
init piranha-gui start; rc=$?
web_pid=$(cat "$run/piranha-gui.pid" 2>/dev/null)
pids+=("$web_pid")
[ "$rc" -eq 0 ] && ok "init: piranha-gui start with --tls" || bad "init: start with --tls (exit $rc)" "$(cat "$work/init.out")"
crt=$work/web-state/lvs-web.crt
if [ "$(stat -c '%U %a' "$crt" "$work/web-state/lvs-web.key" 2>/dev/null | sort -u)" = "lvs-web 600" ] &&
    [ "$(stat -c '%U %a' "$work/web-state")" = "lvs-web 700" ]; then
    ok "TLS: a self-signed certificate and key generated in the state directory (lvs-web, 0600)"
else
    bad "TLS: the generated certificate" "$(ls -la "$work/web-state" 2>&1)"
fi
want=$(openssl x509 -noout -fingerprint -sha256 -in "$crt" 2>/dev/null | sed 's/.*=//')
got=$(echo | openssl s_client -connect "127.0.0.1:$port" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
[ -n "$want" ] && [ "$want" = "$got" ] && ok "TLS: the server presents that certificate (SHA-256 $want)" ||
    bad "TLS: fingerprint on disk '$want', served '$got'"
logged=$(sed -n 's/.*certificate SHA-256 fingerprint \([0-9A-F:]*\).*/\1/p' "$work/lvs-web.log" | tail -n1)
[ -n "$want" ] && [ "$logged" = "$want" ] && ok "TLS: the fingerprint lvs-web logs at start is that certificate's" ||
    bad "TLS: logged fingerprint '$logged', certificate '$want'"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/login")
[ "$code" = 200 ] && ok "TLS: GET https://…/login: 200" || bad "TLS: GET /login: $code"
curl -sk -D "$work/tls.headers" -o /dev/null -H "Origin: https://127.0.0.1:$port" \
    --data-urlencode user=piranha --data-urlencode "password=$password" "https://127.0.0.1:$port/login"
grep -qi '^set-cookie:.*; *Secure' "$work/tls.headers" && ok "TLS: the session cookie is Secure" ||
    bad "TLS: login cookie" "$(head -n 12 "$work/tls.headers")"
init piranha-gui stop
init lvs-admin stop; rc=$?
[ "$rc" -eq 0 ] && ! kill -0 "$admin_pid" 2>/dev/null && ok "init: lvs-admin stop exits 0, the helper gone" ||
    bad "init: lvs-admin stop (exit $rc)" "$(cat "$work/init.out")"

# ---- lvs-admin under the unit's capability bounding set -------------------------
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$ext/usr/lib/systemd/system/lvs-admin.service" |
    tr ' ' '\n' | sed 's/^CAP_//' | tr '[:upper:]' '[:lower:]' | sed 's/^/+/' | paste -sd, -)
# A file of root and another group, group-writable (piranha's lvs.cf was
# root:piranha, written by its GUI as that group).
owned=$work/owned
mkdir -p "$owned/state" && chmod 0755 "$owned"
cp "$repo/etc/lvs.cf" "$owned/lvs.cf"
chown "0:$gid" "$owned/lvs.cf" && chmod 0660 "$owned/lvs.cf"
apply_with() { # BOUNDING-SET GROUP: start the helper so, apply a one-line change
    local sock=$owned/a.sock
    setpriv --bounding-set="$1" --inh-caps=-all --no-new-privs -- \
        "$ext/usr/sbin/lvs-admin" --socket "$sock" serve -c "$owned/lvs.cf" --group "$2" --state-dir "$owned/state" \
        --lvsd-socket "$run/lvsd.sock" --lvsd-pidfile "$run/lvs.pid" \
        --pulse-socket "$run/pulse.sock" --pulse-pidfile "$run/pulse.pid" >"$owned/serve.log" 2>&1 &
    local p=$!
    pids+=("$p")
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    sed 's/^serial_no = .*/serial_no = 99/' "$repo/etc/lvs.cf" >"$owned/new.cf"
    "$ext/usr/sbin/lvs-admin" --socket "$sock" apply "$owned/new.cf" --reason "packaging check" --user ci \
        >"$owned/apply.out" 2>&1
    local rc=$?
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    rm -f "$sock"
    return "$rc"
}
if apply_with "-all,$caps" lvs-web && grep -q '^serial_no = 99' "$owned/lvs.cf" &&
    [ "$(stat -c '%u:%g %a' "$owned/lvs.cf")" = "0:$gid 660" ]; then
    ok "lvs-admin with the unit's bounding set ($caps): an apply keeps the file's group and mode"
else
    bad "lvs-admin with the unit's bounding set ($caps)" "$(cat "$owned/serve.log" "$owned/apply.out"; stat -c '%u:%g %a' "$owned/lvs.cf")"
fi
cp "$repo/etc/lvs.cf" "$owned/lvs.cf"
chown "0:$gid" "$owned/lvs.cf" && chmod 0660 "$owned/lvs.cf"
# (socket group root: only the file's group needs CAP_CHOWN then)
if apply_with "-all,${caps//+chown,/}" root; then
    bad "lvs-admin without CAP_CHOWN applied a file of another group (the check measures nothing)"
else
    if grep -qi 'operation not permitted' "$owned/apply.out"; then
        ok "lvs-admin without CAP_CHOWN cannot keep the file's group: the apply fails (EPERM)"
    else
        bad "lvs-admin without CAP_CHOWN failed for another reason" "$(cat "$owned/serve.log" "$owned/apply.out")"
    fi
fi

# ---- pairing two routers, as lvs-admin(8) PAIRING says -----------------------
# Two helpers on loopback (ports of their own), each with its own state
# directory: `lvs-admin fingerprint` on each, then each the other's address
# and fingerprint; an apply on the first reaches the second's lvs.cf.
pa=$(free_port) pb=$(free_port)
for r in a b; do
    mkdir -p "$work/r$r/state" && chmod 0755 "$work/r$r"
    cp "$repo/etc/lvs.cf" "$work/r$r/lvs.cf"
done
fp() { "$ext/usr/sbin/lvs-admin" fingerprint --state-dir "$1" 2>&1 | grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' | head -n1; }
fpa=$(fp "$work/ra/state") fpb=$(fp "$work/rb/state")
[ -n "$fpa" ] && [ -n "$fpb" ] && [ "$fpa" != "$fpb" ] &&
    ok "pairing: lvs-admin fingerprint prints each router's own fingerprint" ||
    bad "pairing: fingerprints '$fpa' '$fpb'"
want=$(openssl x509 -noout -fingerprint -sha256 -in "$work/ra/state/sync-cert.pem" 2>/dev/null | sed 's/.*=//')
[ "$want" = "$fpa" ] && ok "pairing: it is openssl's fingerprint of sync-cert.pem" || bad "pairing: openssl says '$want', lvs-admin '$fpa'"
serve_router() { # NAME OWN-PORT PEER-PORT PEER-FINGERPRINT
    local d=$work/r$1
    "$ext/usr/sbin/lvs-admin" --socket "$d/a.sock" serve -c "$d/lvs.cf" --group root --state-dir "$d/state" \
        --lvsd-socket "$d/lvsd.sock" --lvsd-pidfile "$d/lvs.pid" --pulse-socket "$d/pulse.sock" \
        --pulse-pidfile "$d/pulse.pid" --sync-listen "127.0.0.1:$2" --peer "127.0.0.1:$3" \
        --peer-fingerprint "$4" >"$d/serve.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$d/a.sock" ] && break; sleep 0.1; done
}
serve_router a "$pa" "$pb" "$fpb"
serve_router b "$pb" "$pa" "$fpa"
admin_a() { "$ext/usr/sbin/lvs-admin" --socket "$work/ra/a.sock" "$@"; }
# Step 5: the first push, the two files equal (copied by hand before).
admin_a sync-push >"$work/ra/push0.out" 2>&1 && admin_a sync-status >"$work/ra/status0.out" 2>&1 &&
    ok "pairing: the first sync-push of an equal file is accepted, sync-status exits 0" ||
    bad "pairing: first sync-push" "$(cat "$work/ra/push0.out" "$work/ra/status0.out")"
sed 's/^serial_no = .*/serial_no = 500/' "$repo/etc/lvs.cf" >"$work/ra/new.cf"
admin_a apply "$work/ra/new.cf" --reason "pairing check" --user ci >"$work/ra/apply.out" 2>&1
for _ in $(seq 50); do cmp -s "$work/ra/lvs.cf" "$work/rb/lvs.cf" && break; sleep 0.1; done
cmp -s "$work/ra/lvs.cf" "$work/rb/lvs.cf" && grep -q '^serial_no = 500' "$work/rb/lvs.cf" &&
    ok "pairing: an apply on the first router reaches the second's lvs.cf" ||
    bad "pairing: the second router's lvs.cf after an apply" "$(cat "$work/ra/apply.out" "$work/ra/serve.log" "$work/rb/serve.log" | tail -n 15)"
admin_a sync-status >"$work/ra/status.out" 2>&1 && ok "pairing: sync-status exits 0 (digests equal)" ||
    bad "pairing: sync-status" "$(cat "$work/ra/status.out")"
# A hand edit on the second router is not overwritten without --force.
echo "# edited by hand on the backup" >>"$work/rb/lvs.cf"
sed 's/^serial_no = .*/serial_no = 501/' "$repo/etc/lvs.cf" >"$work/ra/new.cf"
admin_a apply "$work/ra/new.cf" --reason "pairing check 2" --user ci >"$work/ra/apply2.out" 2>&1
sleep 0.5
grep -q '^# edited by hand on the backup' "$work/rb/lvs.cf" && ! grep -q '^serial_no = 501' "$work/rb/lvs.cf" &&
    ok "pairing: a file edited by hand on the second router is kept (a conflict)" ||
    bad "pairing: the hand-edited file was replaced" "$(cat "$work/ra/apply2.out")"
admin_a sync-push --force >"$work/ra/push.out" 2>&1
cmp -s "$work/ra/lvs.cf" "$work/rb/lvs.cf" && ok "pairing: sync-push --force replaces it" ||
    bad "pairing: sync-push --force" "$(cat "$work/ra/push.out")"

# ---- a login under the unit's bounding set, piranha's own passwd file ---------
# A router coming from piranha keeps piranha.passwd as piranha left it:
# owned by the user piranha, mode 0600. The helper, with exactly the unit's
# capabilities, still checks a login against it (CAP_DAC_READ_SEARCH);
# without that capability it cannot.
login_with() { # BOUNDING-SET: helper so, lvs-web as lvs-web, one login; prints the HTTP status
    local d=$work/caplogin sock=$work/caplogin/run/a.sock p1 p2 lport
    rm -rf "$d" && mkdir -p "$d/conf" "$d/run" "$d/state" && chmod 0755 "$d" "$d/run"
    chgrp lvs-web "$d/run"
    printf '%s\n' "$password" | "$ext/usr/sbin/piranha-passwd" --file "$d/conf/piranha.passwd" >/dev/null 2>&1
    chown "$id:$id" "$d/conf/piranha.passwd" && chmod 0600 "$d/conf/piranha.passwd"
    cp "$repo/etc/lvs.cf" "$d/lvs.cf"
    setpriv --bounding-set="$1" --inh-caps=-all --no-new-privs -- \
        "$ext/usr/sbin/lvs-admin" --socket "$sock" serve -c "$d/lvs.cf" --state-dir "$d/state" \
        --lvsd-socket "$run/lvsd.sock" --lvsd-pidfile "$run/lvs.pid" --pulse-socket "$run/pulse.sock" \
        --pulse-pidfile "$run/pulse.pid" --passwd-file "$d/conf/piranha.passwd" \
        --users-file "$d/conf/lvs-web.users" >"$d/admin.log" 2>&1 &
    p1=$!
    pids+=("$p1")
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
    lport=$(free_port)
    (cd / && exec setpriv --reuid=lvs-web --regid=lvs-web --init-groups --bounding-set=-all --inh-caps=-all \
        --no-new-privs -- "$ext/usr/sbin/lvs-web" --listen "127.0.0.1:$lport" --admin-socket "$sock" \
        --tokens "$d/conf/lvs-web.tokens" >"$d/web.log" 2>&1) &
    p2=$!
    pids+=("$p2")
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$lport/login" && break; sleep 0.1; done
    curl -s -o /dev/null -w '%{http_code}' -H "Origin: http://127.0.0.1:$lport" \
        --data-urlencode user=piranha --data-urlencode "password=$password" "http://127.0.0.1:$lport/login"
    kill -TERM "$p2" "$p1" 2>/dev/null
    wait "$p2" "$p1" 2>/dev/null
}
code=$(login_with "-all,$caps")
[ "$code" = 303 ] &&
    ok "login under the unit's bounding set against a piranha.passwd of another user, mode 0600: 303" ||
    bad "login under the unit's bounding set: $code" "$(tail -n 5 "$work/caplogin/admin.log" "$work/caplogin/web.log")"
code=$(login_with "-all,${caps//,+dac_read_search/}")
[ "$code" = 503 ] && ok "without CAP_DAC_READ_SEARCH the helper cannot read that file (503: login unavailable)" ||
    bad "login without CAP_DAC_READ_SEARCH: $code (503 expected)" "$(tail -n 5 "$work/caplogin/admin.log")"
