#!/bin/bash
# tests/vm/demo-guest.sh - the LVS cluster demo, run inside the test guest
# (tests/vm/demo.sh boots the guest and calls this). Not for a real host: it
# builds network namespaces and runs daemons as root.
#
# Usage: demo-guest.sh [-v] [--direct] BINDIR
#   BINDIR  where pulse, lvsd, nanny are (target/release)
#   -v      print the daemons' own log lines after each step
#   --direct  direct routing instead of NAT (real servers hold the VIP on lo)
#
# Network (documentation addresses only):
#   public  203.0.113.0/24 (bridge "pub" in namespace sw):
#           r1 203.0.113.2, r2 203.0.113.3, client 203.0.113.50,
#           VIP 203.0.113.10 (eth0:1)
#   private 192.0.2.0/24 (bridge "priv"): r1 192.0.2.2, r2 192.0.2.3,
#           real servers 192.0.2.11-13, NAT router address 192.0.2.1 (eth1:1)
# Exit status 0 only if every step behaved as narrated.
set -uo pipefail

VERBOSE=0 MODE=nat
while [ $# -gt 1 ]; do
    case "$1" in
        -v) VERBOSE=1 ;;
        --direct) MODE=direct ;;
        *) echo "demo: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
BIN=$(cd "${1:?usage: demo-guest.sh [-v] [--direct] BINDIR}" && pwd)
for b in pulse lvsd nanny; do
    [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b is missing (cargo build --release)" >&2; exit 2; }
done
export PATH="$BIN:$PATH"

D=/tmp/demo
rm -rf "$D"; mkdir -p "$D"
T0=$EPOCHREALTIME
FAILED=0 PASSES=0 FAILS=0
ROUTERS=(r1 r2)
SERVERS=(rs1 rs2 rs3)
VIP=203.0.113.10

# -- narration ------------------------------------------------------------
now_ms() { local t=$EPOCHREALTIME; echo $(( (${t/./} - ${T0/./}) / 1000 )); }
say() { local ms; ms=$(now_ms); printf '[%4d.%03d s]  %-9s %s\n' $((ms / 1000)) $((ms % 1000)) "$1" "$2"; }
ok() { say "ok" "$*"; PASSES=$((PASSES + 1)); }
fail() { say "FAILED" "$*"; FAILED=1; FAILS=$((FAILS + 1)); }
step() { printf '\n'; say "==" "$*"; }
# Print what a router's daemons logged since the last call (-v only).
logs() {
    [ "$VERBOSE" = 1 ] || return 0
    local r f n
    for r in "${ROUTERS[@]}"; do
        f=$D/$r/pulse.log
        [ -f "$f" ] || continue
        n=$(cat "$D/$r/log.seen" 2>/dev/null || echo 0)
        tail -n +$((n + 1)) "$f" | sed "s/^/              $r| /"
        wc -l < "$f" > "$D/$r/log.seen"
    done
}

# Wait up to $1 seconds for the command to succeed; prints nothing.
wait_for() {
    local limit=$1; shift
    local end=$(( ${EPOCHREALTIME/./} + limit * 1000000 ))
    while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.02
    done
    return 1
}

# -- cleanup: every process we start is in one of our namespaces -----------
cleanup() {
    local ns pid
    for ns in "${ROUTERS[@]}" "${SERVERS[@]}" cl sw; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}
trap cleanup EXIT

# -- the network -----------------------------------------------------------
mac() { printf '00:00:5e:00:53:%02x' "$1"; }   # RFC 7042 documentation MACs
link_ns() {   # link_ns NS IFNAME BRIDGE MACINDEX
    local ns=$1 ifname=$2 br=$3
    ip -n sw link add "$ns-$ifname" type veth peer name "$ifname" netns "$ns"
    ip -n sw link set "$ns-$ifname" master "$br" up
    ip -n "$ns" link set "$ifname" address "$(mac "$4")" up
}
build_network() {
    local ns i
    for ns in sw "${ROUTERS[@]}" "${SERVERS[@]}" cl; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip -n sw link add pub type bridge
    ip -n sw link add priv type bridge
    ip -n sw link set pub up
    ip -n sw link set priv up
    link_ns r1 eth0 pub 2;  ip -n r1 addr add 203.0.113.2/24 brd + dev eth0
    link_ns r1 eth1 priv 12; ip -n r1 addr add 192.0.2.2/24 brd + dev eth1
    link_ns r2 eth0 pub 3;  ip -n r2 addr add 203.0.113.3/24 brd + dev eth0
    link_ns r2 eth1 priv 13; ip -n r2 addr add 192.0.2.3/24 brd + dev eth1
    link_ns cl eth0 pub 50; ip -n cl addr add 203.0.113.50/24 brd + dev eth0
    for i in 1 2 3; do
        link_ns "rs$i" eth0 priv $((20 + i))
        ip -n "rs$i" addr add "192.0.2.1$i/24" brd + dev eth0
    done
    for ns in "${ROUTERS[@]}"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
        # The routers' IPVS sees the forwarded packets; conntrack makes NAT
        # replies find their way back.
        ip netns exec "$ns" sysctl -qw net.ipv4.vs.conntrack=1 2>/dev/null || true
    done
    for i in 1 2 3; do
        if [ "$MODE" = nat ]; then
            ip -n "rs$i" route add default via 192.0.2.1
        else
            # Direct routing: the real server answers for the VIP itself,
            # never ARPs for it, and replies straight to the client.
            ip -n "rs$i" addr add "$VIP/32" dev lo
            ip netns exec "rs$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1
            ip netns exec "rs$i" sysctl -qw net.ipv4.conf.all.arp_announce=2
            ip -n "rs$i" route add 203.0.113.0/24 dev eth0
        fi
    done
    # Direct routing: the routers reach the real servers on the private
    # bridge, and the real servers reach the client through the same bridge
    # joined to the public one by a link in sw.
    if [ "$MODE" = direct ]; then
        ip -n sw link add pp-a type veth peer name pp-b
        ip -n sw link set pp-a master pub up
        ip -n sw link set pp-b master priv up
    fi
}

# -- real servers: busybox httpd answering with the server's name ----------
start_server() {   # start_server rsN
    local s=$1
    mkdir -p "$D/$s/www"
    echo "$s" > "$D/$s/www/index.html"
    ip netns exec "$s" httpd -f -p 80 -h "$D/$s/www" & echo $! > "$D/$s/httpd80.pid"; disown $!
    ip netns exec "$s" httpd -f -p 8080 -h "$D/$s/www" & echo $! > "$D/$s/httpd8080.pid"; disown $!
}
stop_server() {
    local s=$1
    local pid
    for pid in "$(cat "$D/$s/httpd80.pid")" "$(cat "$D/$s/httpd8080.pid")"; do
        kill "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
    done
}

# -- lvs.cf, the same on both routers (the style of etc/lvs.cf) ------------
write_config() {   # write_config FILE WEIGHT_OF_RS3
    local f=$1 w3=$2
    {
        cat <<EOF
serial_no = 1
primary = 203.0.113.2
service = lvs
backup_active = 1
backup = 203.0.113.3
heartbeat = 1
heartbeat_port = 539
keepalive = 0.5
deadtime = 1.5
network = $MODE
syncdaemon = 1
syncd_iface = eth1
syncd_id = 7
EOF
        [ "$MODE" = nat ] && cat <<EOF
nat_router = 192.0.2.1 eth1:1
nat_nmask = 255.255.255.0
EOF
        cat <<EOF
debug_level = NONE
hard_shutdown = 0
virtual web {
     active = 1
     address = $VIP eth0:1
     vip_nmask = 255.255.255.0
     port = 80
     persistent = 300
     send = "GET / HTTP/1.0\r\n\r\n"
     expect = "HTTP"
     use_regex = 0
     load_monitor = none
     scheduler = wlc
     protocol = tcp
     timeout = 1
     reentry = 2
     quiesce_server = 0
     server rs1 {
         address = 192.0.2.11
         active = 1
         weight = 1
     }
     server rs2 {
         address = 192.0.2.12
         active = 1
         weight = 1
     }
     server rs3 {
         address = 192.0.2.13
         active = 1
         weight = 1
     }
}
virtual tcp {
     active = 1
     address = $VIP eth0:1
     vip_nmask = 255.255.255.0
     port = 8080
     scheduler = wrr
     protocol = tcp
     timeout = 1
     reentry = 2
     server rs1 {
         address = 192.0.2.11
         active = 1
         weight = 1
     }
     server rs2 {
         address = 192.0.2.12
         active = 1
         weight = 2
     }
     server rs3 {
         address = 192.0.2.13
         active = 1
         weight = $w3
     }
}
EOF
    } > "$f"
}

# -- routers: each pulse in its router's namespace with a /run of its own ---
# (two routers share this guest's file system; a real router has its own
# /run for pulse.pid, lvs.pid and the status sockets)
start_router() {   # start_router rN [pulse options...]
    local r=$1; shift
    mkdir -p "$D/$r"
    ip netns exec "$r" unshare -m --propagation private \
        sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' sh \
        pulse -n -c "$D/$r/lvs.cf" "$@" >> "$D/$r/pulse.log" 2>&1 &
    echo $! > "$D/$r/pulse.pid"
    disown $!
}
# Run a command inside router rN's namespaces (network and its /run).
in_router() {
    local r=$1; shift
    nsenter -t "$(cat "$D/$r/pulse.pid")" -m -n "$@"
}
holds_vip() { ip -n "$1" -4 addr show dev eth0 | grep -q " $VIP/"; }
table() { ip netns exec "$1" ipvsadm -S -n 2>/dev/null; }
in_table() { table "$1" | grep -q -- "-r $2:$3"; }
not_in_table() { ! in_table "$@"; }
neigh_mac() { ip -n cl neigh show "$VIP" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i+1)}'; }
client_neigh_is() { [ "$(neigh_mac)" = "$1" ]; }
# One HTTP request from the client on a new connection; prints the body
# (the real server's name). bash's /dev/tcp: the guest's busybox wget is
# not dependable.
fetch() {
    ip netns exec cl timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && sed -n "\$p" <&3' "$VIP" "$1" 2>/dev/null
}
all_in_table() { in_table "$1" 192.0.2.11 8080 && in_table "$1" 192.0.2.12 8080 && in_table "$1" 192.0.2.13 8080; }
holds_nat() { ip -n "$1" -4 addr show dev eth1 | grep -q ' 192.0.2.1/'; }
rs3_weight_is() { table r1 | grep -q -- "-r 192.0.2.13:8080 -[mg] -w $1\$"; }
took_over() { holds_vip r2 && client_neigh_is "$mac_r2"; }
# The IPVS connection-sync daemon pulse runs: master on the active router.
sync_is() { ip netns exec "$1" ipvsadm -L --daemon 2>/dev/null | grep -q "^$2 sync daemon (mcast=eth1, syncid=7[,)]"; }

# N requests to port P; prints "rs1 N1, rs2 N2, rs3 N3, failed F".
spread() {   # spread PORT N
    local port=$1 n=$2 i out
    local -A got=()
    for i in $(seq "$n"); do
        out=$(fetch "$port") || out=failed
        got[$out]=$(( ${got[$out]:-0} + 1 ))
    done
    echo "rs1 ${got[rs1]:-0}, rs2 ${got[rs2]:-0}, rs3 ${got[rs3]:-0}, failed ${got[failed]:-0}"
}
status_json_field() {   # status_json_field rN FIELD
    in_router "$1" lvsd --status --json 2>/dev/null | sed -n "s/^  \"$2\": \([0-9]*\),*$/\1/p"
}

# =========================================================================
echo "LVS cluster demo: two routers running pulse, three real servers, one client (network = $MODE)"
step "setting up: namespaces r1 r2 (routers), rs1 rs2 rs3 (real servers), cl (client), two bridges"
build_network
for s in "${SERVERS[@]}"; do start_server "$s"; done
for r in "${ROUTERS[@]}"; do mkdir -p "$D/$r"; write_config "$D/$r/lvs.cf" 3; done
ok "network up; real servers answer with their own name on ports 80 and 8080"

step "routers start: pulse on r1 (primary) and r2 (backup)"
start_router r1
start_router r2
if wait_for 20 holds_vip r1; then ok "r1 is active: holds VIP $VIP (eth0:1)"; else fail "r1 never took the VIP"; fi
if [ "$MODE" = nat ]; then
    if wait_for 5 holds_nat r1; then
        ok "r1 holds the NAT router address 192.0.2.1 (eth1:1)"
    else fail "r1 does not hold 192.0.2.1"; fi
fi
if wait_for 20 all_in_table r1; then
    ok "lvsd on r1 programmed IPVS; the nannies added all three real servers"
else fail "r1's IPVS table is incomplete"; fi
if holds_vip r2; then fail "r2 holds the VIP too"; else ok "r2 is the backup: no VIP"; fi
if wait_for 5 sync_is r1 master && wait_for 5 sync_is r2 backup; then
    ok "connection sync: r1 runs the master sync daemon, r2 the backup (syncid 7 on eth1)"
else fail "sync daemons: r1 '$(ip netns exec r1 ipvsadm -L --daemon 2>&1)', r2 '$(ip netns exec r2 ipvsadm -L --daemon 2>&1)'"; fi
logs

step "slow start: each nanny enters its server at weight max(1, w/32) and doubles it about every 20 s"
weights_are() { table r1 | grep -q -- "-r 192.0.2.11:8080 -m -w $1\$" && table r1 | grep -q -- "-r 192.0.2.12:8080 -m -w $2\$" &&
    table r1 | grep -q -- "-r 192.0.2.13:8080 -m -w $3\$"; }
[ "$MODE" = direct ] && weights_are() { table r1 | grep -q -- "-r 192.0.2.11:8080 -g -w $1\$" && table r1 | grep -q -- "-r 192.0.2.12:8080 -g -w $2\$" &&
    table r1 | grep -q -- "-r 192.0.2.13:8080 -g -w $3\$"; }
t=$(now_ms)
if wait_for 90 weights_are 1 2 3; then
    ok "virtual tcp reached its configured weights 1 2 3 after $(( $(now_ms) - t )) ms"
else fail "virtual tcp never reached weights 1 2 3"; fi
table r1 | sed 's/^/              r1| /'

step "client: 30 requests to the plain TCP service (wrr, weights 1 2 3), 10 to HTTP (wlc, persistent 300)"
out=$(spread 8080 30); say "spread" "port 8080: $out"
[ "$out" = "rs1 5, rs2 10, rs3 15, failed 0" ] && ok "wrr spread the requests 1:2:3" || fail "expected rs1 5, rs2 10, rs3 15"
out=$(spread 80 10); say "spread" "port 80:   $out"
case "$out" in "rs1 10, rs2 0, rs3 0, failed 0"|"rs1 0, rs2 10, rs3 0, failed 0"|"rs1 0, rs2 0, rs3 10, failed 0")
    ok "persistence kept the client on one real server" ;;
    *) fail "persistence did not hold" ;; esac
mac_r1=$(ip -n r1 link show eth0 | awk '/link\/ether/ {print $2}')
mac_r2=$(ip -n r2 link show eth0 | awk '/link\/ether/ {print $2}')
client_neigh_is "$mac_r1" && ok "the client reaches the VIP at r1's MAC $mac_r1" || fail "client's neighbour entry: $(neigh_mac)"

step "weight of rs3 in virtual tcp edited in lvs.cf (3 -> 1) on both routers; SIGHUP to pulse on r1"
before=$(status_json_field r1 total_writes)
for r in "${ROUTERS[@]}"; do write_config "$D/$r/lvs.cf.new" 1; mv "$D/$r/lvs.cf.new" "$D/$r/lvs.cf"; done
kill -HUP "$(cat "$D/r1/pulse.pid")"
if wait_for 10 rs3_weight_is 1; then
    sleep 3   # let a restarted nanny settle: a ramp or a flap would add writes
    after=$(status_json_field r1 total_writes)
    if [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) = 1 ]; then
        ok "lvsd applied exactly one change (netlink writes $before -> $after)"
    else fail "lvsd's writes went $before -> $after (expected one)"; fi
else fail "the new weight never reached the kernel"; fi
logs

step "real server rs2 stops"
in_table r1 192.0.2.12 8080 || fail "rs2 was not in the table to begin with"
stop_server rs2
t=$(now_ms)
if wait_for 10 not_in_table r1 192.0.2.12 8080; then
    ok "its nanny reported it down; lvsd removed it after $(( $(now_ms) - t )) ms"
else fail "rs2 is still in the table"; fi
out=$(spread 8080 12); say "spread" "port 8080: $out"
case "$out" in *"rs2 0,"*"failed 0") ok "requests avoid rs2" ;; *) fail "requests did not avoid rs2" ;; esac
logs

step "real server rs2 starts again"
start_server rs2
t=$(now_ms)
if wait_for 15 in_table r1 192.0.2.12 8080; then
    ok "rs2 re-entered after $(( $(now_ms) - t )) ms (passing checks for reentry = 2 s)"
else fail "rs2 did not come back"; fi
logs

step "the active router r1 fails: kill -9 of its pulse, lvsd and nannies, and its links go down"
t_kill=$EPOCHREALTIME
for pid in $(ip netns pids r1); do kill -9 "$pid" 2>/dev/null; done
ip -n r1 link set eth0 down
ip -n r1 link set eth1 down
if wait_for 15 took_over; then
    ms=$(( (${EPOCHREALTIME/./} - ${t_kill/./}) / 1000 ))
    ok "r2 took over: holds the VIP, and the client's neighbour entry points at r2 ($mac_r2) after $ms ms"
else fail "r2 did not take over (client neighbour: $(neigh_mac))"; fi
if wait_for 20 fetch 8080; then
    ms=$(( (${EPOCHREALTIME/./} - ${t_kill/./}) / 1000 ))
    ok "requests succeed again through r2, $ms ms after the failure"
else fail "no request succeeded through r2"; fi
wait_for 5 sync_is r2 master && ok "r2 now runs the master sync daemon" || fail "r2's sync daemon is not master"
wait_for 10 all_in_table r2
out=$(spread 8080 12); say "spread" "port 8080: $out"
case "$out" in *"failed 0") ok "all requests served by r2's lvsd" ;; *) fail "some requests failed through r2" ;; esac
logs

step "r1 returns (links up, pulse started again)"
ip -n r1 link set eth0 up
ip -n r1 link set eth1 up
start_router r1
sleep 3
if holds_vip r1; then fail "r1 still holds the stale VIP"; else ok "r1 dropped the VIP it held before the crash and stays passive"; fi
holds_vip r2 && ok "r2 stays active (no automatic failback)" || fail "r2 lost the VIP"
fetch 8080 >/dev/null && ok "requests still succeed" || fail "requests fail after r1 returned"
logs

step "status from the active router r2"
in_router r2 pulse --status 2>&1 | sed 's/^/              /' || fail "pulse --status failed"
in_router r2 lvsd --status 2>&1 | sed 's/^/              /' || fail "lvsd --status failed"

printf '\n'
if [ "$FAILED" = 0 ]; then say "PASSED" "every step behaved as narrated"; else say "FAILED" "see the steps marked FAILED above"; fi
echo "demo ($MODE): $PASSES passed, $FAILS failed"
exit "$FAILED"
