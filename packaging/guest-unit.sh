#!/bin/bash
# shellcheck disable=SC2015  # "check && ok || bad": ok never fails
# Run in the test guest (real IPVS) by packaging/check.sh:
#
#   tests/vm/run.sh --share WORK -- bash packaging/guest-unit.sh EXT LISTEN WORK [SETPRIV_DIR]
#
# EXT: the extracted .deb; LISTEN: packaging/dgram-listen.rs, built; WORK: a
# scratch directory shared with the host. Installs the package's files over
# the guest's / (a throw-away initramfs), writes an lvs.cf for one router
# whose partner is silent, then starts pulse the way pulse.service does:
# the EnvironmentFile, every ExecStartPre= line (with its - and +
# prefixes), ExecStart= with $OPTIONS, and NOTIFY_SOCKET/WATCHDOG_USEC as
# systemd sets them, the notification socket being LISTEN's. Checks READY,
# STATUS, the watchdog, lvsd's IPVS service, ExecReload's SIGHUP, and the
# stop. Prints ok/FAIL lines and "guest: N passed, M failed".
#
# Addresses: documentation ones only, on a dummy interface of the guest.
set -u
ext=$1 listen=$2 work=$3
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
bad() { failed=$((failed + 1)); echo "FAIL  $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      /'; }
finish() {
    [ -n "${pulse_pid:-}" ] && kill -9 "$pulse_pid" 2>/dev/null
    echo "guest: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# The package's files, as dpkg would lay them out.
cp -a "$ext/usr/sbin/." /usr/sbin/
mkdir -p /usr/libexec /etc/sysconfig/ha
cp -a "$ext/usr/libexec/." /usr/libexec/
unit=$ext/usr/lib/systemd/system/pulse.service
printf 'OPTIONS="--forceactive"\nDELAY=0.2\n' >/etc/sysconfig/pulse

ip link add ops0 type dummy || { bad "dummy interface"; finish; }
ip addr add 192.0.2.1/24 dev ops0
ip link set ops0 up
cat >/etc/sysconfig/ha/lvs.cf <<'EOF'
serial_no = 1
primary = 192.0.2.1
service = lvs
backup_active = 1
backup = 192.0.2.2
heartbeat = 1
heartbeat_port = 539
keepalive = 0.5
deadtime = 2
network = direct
virtual web {
     active = 1
     address = 203.0.113.10 ops0:1
     vip_nmask = 255.255.255.0
     port = 80
     scheduler = wlc
     protocol = tcp
     timeout = 1
     reentry = 2
     server web1 {
         address = 192.0.2.11
         active = 1
         weight = 1
     }
}
EOF

# EnvironmentFile=-/etc/sysconfig/pulse
set -a
# shellcheck disable=SC1091
. /etc/sysconfig/pulse
set +a

# A unit command line as systemd splits it: words, $OPTIONS expanded.
words_of() {
    local w ws opts words=()
    read -ra ws <<<"$1"
    for w in "${ws[@]}"; do
        # shellcheck disable=SC2016  # the literal word of the unit file
        case "$w" in
            '$OPTIONS') read -ra opts <<<"${OPTIONS:-}"; words+=("${opts[@]}") ;;
            *) words+=("$w") ;;
        esac
    done
    printf '%s\n' "${words[@]}"
}

pres=0
while IFS= read -r line; do
    cmd=${line#ExecStartPre=}
    may_fail=0
    while :; do
        case "$cmd" in
            -*) may_fail=1; cmd=${cmd#-} ;;
            +*) cmd=${cmd#+} ;;
            *) break ;;
        esac
    done
    mapfile -t argv < <(words_of "$cmd")
    out=$("${argv[@]}" 2>&1)
    rc=$?
    pres=$((pres + 1))
    if [ "$rc" -eq 0 ] || [ "$may_fail" = 1 ]; then
        ok "${line} (exit $rc)"
    else
        bad "${line} failed (exit $rc)" "$out"
    fi
done < <(grep '^ExecStartPre=' "$unit")
[ "$pres" -ge 3 ] || bad "the unit has its ExecStartPre= lines ($pres)"

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
mapfile -t argv < <(words_of "$exec_start")
start_argv=("${argv[@]}")
# The socket on the guest's own tmpfs (a Unix socket on the 9p share
# cannot be connected to); the log on the share.
sock=/run/ops-notify
"$listen" "$sock" 14 >"$work/notify.log" 2>&1 &
listener=$!
for _ in $(seq 1 50); do grep -q listening "$work/notify.log" && break; sleep 0.1; done
env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 "${argv[@]}" >"$work/pulse.out" 2>&1 &
pulse_pid=$!

wait_for() { # PATTERN SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q -- "$1" "$work/notify.log" && return 0
        sleep 0.1
    done
    return 1
}
if wait_for ' READY=1' 20; then
    ok "READY=1 ($(grep ' READY=1' "$work/notify.log" | head -n1 | cut -d' ' -f2-))"
else
    bad "no READY=1 within 20 s" "$(cat "$work/notify.log" "$work/pulse.out")"
    finish
fi
kill -0 "$pulse_pid" 2>/dev/null && ok "pulse stays in the foreground (the started process runs)" ||
    bad "the started process exited" "$(cat "$work/pulse.out")"
grep -q 'READY=1|STATUS=master, active; partner 192.0.2.2 silent' "$work/notify.log" &&
    ok "STATUS= names role and partner (--forceactive from OPTIONS: active at once)" ||
    bad "STATUS=" "$(cat "$work/notify.log")"

# The active router runs lvsd, which installs the service.
svc=0
for _ in $(seq 1 100); do
    ipvsadm -Ln 2>/dev/null | grep -q '203.0.113.10:80' && { svc=1; break; }
    sleep 0.1
done
[ $svc = 1 ] && ok "lvsd (started by pulse) installed 203.0.113.10:80 in IPVS" ||
    bad "no IPVS service after 10 s" "$(ipvsadm -Ln 2>&1; cat "$work/pulse.out")"
vip=0
for _ in $(seq 1 100); do
    ip addr show dev ops0 | grep -q 203.0.113.10 && { vip=1; break; }
    sleep 0.1
done
[ $vip = 1 ] && ok "the VIP is up" || bad "no VIP after 10 s" "$(ip addr show dev ops0)"
lvsd_pid=$(pgrep -x lvsd | head -n1)
[ -n "$lvsd_pid" ] && ok "lvsd runs (pid $lvsd_pid)" || bad "no lvsd process"
if [ -n "$lvsd_pid" ] && ! tr '\0' '\n' <"/proc/$lvsd_pid/environ" | grep -q '^NOTIFY_SOCKET='; then
    ok "lvsd did not inherit NOTIFY_SOCKET"
else
    bad "lvsd's environment has NOTIFY_SOCKET"
fi

before=$(grep -c ' WATCHDOG=1$' "$work/notify.log")
sleep 3
after=$(grep -c ' WATCHDOG=1$' "$work/notify.log")
n=$((after - before))
if [ "$n" -ge 4 ] && [ "$n" -le 8 ]; then ok "watchdog: $n pings in 3 s (WATCHDOG_USEC=1 s)"; else bad "watchdog: $n pings in 3 s"; fi

# ExecReload=/bin/kill -HUP $MAINPID
reload=$(sed -n 's/^ExecReload=//p' "$unit")
mapfile -t argv < <(words_of "${reload//\$MAINPID/$pulse_pid}")
"${argv[@]}"
sleep 1
if kill -0 "$pulse_pid" 2>/dev/null && [ "$(pgrep -x lvsd | head -n1)" = "$lvsd_pid" ]; then
    ok "ExecReload: pulse and lvsd keep running"
else
    bad "ExecReload ended pulse or lvsd" "$(cat "$work/pulse.out")"
fi

# systemctl stop: SIGTERM to the main process (KillMode=mixed).
kill -TERM "$pulse_pid"
s=${EPOCHREALTIME/./}
wait "$pulse_pid"
rc=$?
ms=$(((${EPOCHREALTIME/./} - s) / 1000))
pulse_pid=
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0 after $ms ms" || bad "SIGTERM: exit $rc" "$(cat "$work/pulse.out")"
wait "$listener"
tail -n1 "$work/notify.log" | grep -q ' STOPPING=1$' && ok "STOPPING=1 last" || bad "no STOPPING=1 at the end" "$(tail -n3 "$work/notify.log")"
ipvsadm -Ln 2>/dev/null | grep -q '203.0.113.10:80' && bad "the IPVS service outlived pulse" || ok "the IPVS service is gone"
[ -z "$(pgrep -x lvsd)" ] && ok "lvsd is gone" || bad "lvsd outlived pulse"
if [ $vip = 1 ] && ! ip addr show dev ops0 | grep -q 203.0.113.10; then ok "the VIP is gone"; else bad "the VIP is gone (raised: $vip)"; fi

# The hardening drop-in's capability set (setpriv from the host, with its
# library, in SETPRIV_DIR): lvsd programs IPVS, nanny checks, pulse holds
# the VIP with only CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_KILL
# and no_new_privs.
if [ -n "${4:-}" ] && [ -x "$4/setpriv" ]; then
    sp=$4
    sock=/run/ops-notify2
    "$listen" "$sock" 12 >"$work/notify2.log" 2>&1 &
    listener=$!
    for _ in $(seq 1 50); do grep -q listening "$work/notify2.log" && break; sleep 0.1; done
    env LD_LIBRARY_PATH="$sp" NOTIFY_SOCKET="$sock" "$sp/setpriv" \
        --bounding-set -all,+net_admin,+net_raw,+net_bind_service,+kill --inh-caps=-all --no-new-privs \
        "${start_argv[@]}" >"$work/pulse2.out" 2>&1 &
    pulse_pid=$!
    svc=0
    for _ in $(seq 1 150); do
        ipvsadm -Ln 2>/dev/null | grep -q '203.0.113.10:80' && { svc=1; break; }
        sleep 0.1
    done
    if [ $svc = 1 ] && grep -q ' READY=1' "$work/notify2.log" && [ -n "$(pgrep -x nanny)" ]; then
        ok "with the drop-in's four capabilities: READY, lvsd's IPVS service, a nanny"
    else
        bad "with the drop-in's four capabilities (service: $svc)" "$(cat "$work/pulse2.out" "$work/notify2.log")"
    fi
    grep -iq 'not permitted\|permission denied' "$work/pulse2.out" &&
        bad "a permission error with the four capabilities" "$(cat "$work/pulse2.out")" ||
        ok "no permission error with the four capabilities"
    kill -TERM "$pulse_pid"
    wait "$pulse_pid"
    rc=$?
    pulse_pid=
    wait "$listener"
    [ "$rc" -eq 0 ] && ! ipvsadm -Ln 2>/dev/null | grep -q '203.0.113.10:80' &&
        ok "with the four capabilities: the stop removes the service, exit 0" ||
        bad "with the four capabilities: stop (exit $rc)" "$(ipvsadm -Ln 2>&1)"
fi
finish
