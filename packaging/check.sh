#!/usr/bin/env bash
# Operations checks: the .deb and the .rpm, the systemd units, the init
# scripts, DELAY, the configuration tool as installed (packaging/web-check.sh),
# the man pages and the shell completions.
#
#   bash packaging/check.sh        # as root (dpkg --root, rpm --root,
#                                  # a network namespace, mount namespace)
#
# Builds both packages (packaging/build.sh; release binaries, as setup.sh
# already built them; CARGO_PROFILE=dev for a quick local loop), installs
# them into throw-away roots, and runs the installed files. Installs the
# Debian packages it needs when missing (rpm, shellcheck, zsh); with
# LVS_SKIP_VM=1 the one check in the qemu guest is skipped. Prints
# "ops: N passed, M failed" and exits 1 if anything failed.
#
# Network: one namespace named after this script's PID, with documentation
# addresses only (192.0.2.0/24, 203.0.113.0/24), removed on exit; the pulse
# started there runs with --test-start (no lvsd, no IPVS).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"
repo=$PWD

if [ "$(id -u)" -ne 0 ]; then
    echo "packaging/check.sh: needs root" >&2
    exit 1
fi

need=()
command -v rpmbuild >/dev/null || need+=(rpm)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v zsh >/dev/null || need+=(zsh)
command -v groff >/dev/null || need+=(groff-base)
command -v man >/dev/null || need+=(man-db)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    echo "check.sh: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
        { echo "check.sh: cannot install ${need[*]}" >&2; exit 1; }
fi

tmp=$(mktemp -d /tmp/lvs-ops-check.XXXXXX)
ns=lvsops$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The stand-in for systemd's notification socket and for /dev/log.
listen=$tmp/dgram-listen
rustc --edition 2021 -O -o "$listen" packaging/dgram-listen.rs ||
    { echo "check.sh: cannot build packaging/dgram-listen.rs" >&2; exit 1; }

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      /'; }
# check NAME CMD...: the command must succeed.
check() { local name=$1; shift; local out; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi; }
# status NAME WANT CMD...: the command's exit status must be WANT.
status() {
    local name=$1 want=$2; shift 2; local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)" "$out"; fi
}

# ---- packages -------------------------------------------------------------
echo "== build"
deb=$(PACKAGE_OUT=$tmp/out bash packaging/build.sh deb | tail -n1) || { bad "build .deb"; deb=; }
rpmfile=$(PACKAGE_OUT=$tmp/out bash packaging/build.sh rpm | tail -n1) || { bad "build .rpm"; rpmfile=; }
[ -f "$deb" ] && ok "build .deb ($(basename "$deb"), $(du -k "$deb" | cut -f1) KiB)"
[ -f "$rpmfile" ] && ok "build .rpm ($(basename "$rpmfile"), $(du -k "$rpmfile" | cut -f1) KiB)"

# What both packages must install (the .rpm's init script is under
# /etc/rc.d/init.d, its zsh function under site-functions).
common=(
    /usr/sbin/pulse /usr/sbin/lvsd /usr/sbin/nanny /usr/sbin/send_arp
    /usr/lib/systemd/system/pulse.service /usr/libexec/lvs-director/pulse-delay
    /etc/sysconfig/pulse /etc/sysconfig/ha/lvs.cf
    /usr/share/man/man8/pulse.8.gz /usr/share/man/man8/lvsd.8.gz
    /usr/share/man/man8/nanny.8.gz /usr/share/man/man8/send_arp.8.gz
    /usr/share/man/man5/lvs.cf.5.gz
    /usr/share/bash-completion/completions/pulse /usr/share/bash-completion/completions/lvsd
    /usr/share/bash-completion/completions/nanny /usr/share/bash-completion/completions/send_arp
    /usr/share/doc/lvs-director/operations.md /usr/share/doc/lvs-director/hardening.conf.example
    # The configuration tool.
    /usr/sbin/lvs-admin /usr/sbin/lvs-web /usr/sbin/piranha-passwd
    /usr/lib/systemd/system/lvs-admin.service /usr/lib/systemd/system/piranha-gui.service
    /usr/lib/sysusers.d/lvs-director.conf
    /etc/sysconfig/lvs-admin /etc/sysconfig/piranha-gui /etc/sysconfig/ha/conf
    /usr/share/man/man8/lvs-admin.8.gz /usr/share/man/man8/lvs-web.8.gz /usr/share/man/man8/piranha-passwd.8.gz
    /usr/share/bash-completion/completions/lvs-admin /usr/share/bash-completion/completions/lvs-web
    /usr/share/bash-completion/completions/piranha-passwd
    /usr/share/doc/lvs-director/web.md
)
has_all() { # LISTFILE PATH...
    local list=$1 missing=(); shift
    for p in "$@"; do grep -qx "$p" "$list" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
}

echo "== .deb"
if [ -f "$deb" ]; then
    dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' >"$tmp/deb.list"
    check "deb: installs the seven executables, units, init scripts, man pages, completions, docs" \
        has_all "$tmp/deb.list" "${common[@]}" /etc/init.d/pulse /etc/init.d/lvs-admin /etc/init.d/piranha-gui \
        /usr/share/zsh/vendor-completions/_lvs-director
    check "deb: does not ship /usr/sbin/lvs (LVM2's)" bash -c "! grep -qx /usr/sbin/lvs '$tmp/deb.list'"
    dpkg-deb -f "$deb" Package Version Depends Conflicts >"$tmp/deb.control"
    dpkg-deb -I "$deb" conffiles >"$tmp/deb.conffiles" 2>&1
    check "deb: lvs.cf, the /etc/sysconfig files and the init scripts are conffiles" \
        has_all "$tmp/deb.conffiles" /etc/sysconfig/ha/lvs.cf /etc/sysconfig/pulse /etc/init.d/pulse \
        /etc/sysconfig/lvs-admin /etc/sysconfig/piranha-gui /etc/init.d/lvs-admin /etc/init.d/piranha-gui
    check "deb: replaces piranha" grep -q '^Conflicts: piranha' "$tmp/deb.control"
    check "deb: depends on libpam0g (lvs-web's PAM logins)" grep -q '^Depends:.*libpam0g' "$tmp/deb.control"

    # Install into a throw-away root: dpkg's database lives there too.
    root=$tmp/debroot
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
    dpkg_r() { dpkg --root="$root" --log=/dev/null --force-depends --force-script-chrootless "$@" </dev/null; }
    check "deb: dpkg -i into a fresh root" dpkg_r -i "$deb"
    dpkg --root="$root" -L lvs-director >"$tmp/deb.installed" 2>&1
    check "deb: dpkg -L lists the installed files" has_all "$tmp/deb.installed" "${common[@]}"
    # postinst (chrootless, DPKG_ROOT set): systemd-sysusers --root makes
    # the web UI's user inside the root, and the conf directory is its group's.
    web_gid=$(awk -F: '$1 == "lvs-web" { print $3 }' "$root/etc/group" 2>/dev/null)
    check "deb: postinst made user lvs-web in the root (system user, no login shell, home /var/lib/lvs-web)" \
        grep -qE "^lvs-web:x:[0-9]+:${web_gid:-none}:[^:]*:/var/lib/lvs-web:/usr/sbin/nologin$" "$root/etc/passwd"
    check "deb: /etc/sysconfig/ha/conf is root:lvs-web 0750" \
        test "$(stat -c '%u:%g %a' "$root/etc/sysconfig/ha/conf")" = "0:${web_gid:-none} 750"
    check "deb: the installed lvsd --check passes on the installed sample" \
        "$root/usr/sbin/lvsd" --check -c "$root/etc/sysconfig/ha/lvs.cf"
    check "deb: the installed pulse runs" "$root/usr/sbin/pulse" --version
    # The admin edits lvs.cf; a reinstall (upgrade) and a removal keep it.
    echo "# edited by the admin" >>"$root/etc/sysconfig/ha/lvs.cf"
    sum=$(md5sum <"$root/etc/sysconfig/ha/lvs.cf")
    check "deb: reinstall (upgrade) over an edited lvs.cf, no prompt" dpkg_r -i "$deb"
    check "deb: the upgrade kept the edited lvs.cf" test "$(md5sum <"$root/etc/sysconfig/ha/lvs.cf")" = "$sum"
    check "deb: dpkg -r" dpkg_r -r lvs-director
    check "deb: removal took the executables" test ! -e "$root/usr/sbin/pulse"
    check "deb: removal left the edited lvs.cf in place" test "$(md5sum <"$root/etc/sysconfig/ha/lvs.cf" 2>&1)" = "$sum"
    check "deb: dpkg -P (purge) removes the configuration files" \
        bash -c "dpkg --root='$root' --log=/dev/null --force-script-chrootless -P lvs-director </dev/null && test ! -e '$root/etc/sysconfig/pulse'"
fi

echo "== .rpm"
if [ -f "$rpmfile" ]; then
    rpm -qlp "$rpmfile" 2>/dev/null >"$tmp/rpm.list"
    check "rpm: rpm -qlp lists the seven executables, units, init scripts, man pages, completions, docs" \
        has_all "$tmp/rpm.list" "${common[@]}" /etc/rc.d/init.d/pulse /etc/rc.d/init.d/lvs-admin \
        /etc/rc.d/init.d/piranha-gui /usr/share/zsh/site-functions/_lvs-director
    check "rpm: does not ship /usr/sbin/lvs (LVM2's)" bash -c "! grep -qx /usr/sbin/lvs '$tmp/rpm.list'"
    rpm -qp --obsoletes "$rpmfile" 2>/dev/null >"$tmp/rpm.obsoletes"
    check "rpm: Obsoletes piranha" grep -q '^piranha' "$tmp/rpm.obsoletes"
    rpm -qp --conflicts "$rpmfile" 2>/dev/null >"$tmp/rpm.conflicts"
    check "rpm: Conflicts piranha" grep -q '^piranha' "$tmp/rpm.conflicts"
    rpm -qp --queryformat '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpmfile" 2>/dev/null >"$tmp/rpm.flags"
    check "rpm: lvs.cf and the /etc/sysconfig files are %config(noreplace)" \
        bash -c "for f in /etc/sysconfig/ha/lvs.cf /etc/sysconfig/pulse /etc/sysconfig/lvs-admin /etc/sysconfig/piranha-gui; do grep -qx \"\$f cn\" '$tmp/rpm.flags' || exit 1; done"
    rpm -qp --queryformat '[%{FILENAMES} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMODES:perms}\n]' "$rpmfile" 2>/dev/null >"$tmp/rpm.modes"
    check "rpm: /etc/sysconfig/ha/conf is root:lvs-web 0750, piranha.passwd a %ghost root:root 0600" \
        bash -c "grep -qx '/etc/sysconfig/ha/conf root:lvs-web drwxr-x---' '$tmp/rpm.modes' &&
            grep -qx '/etc/sysconfig/ha/conf/piranha.passwd cng' '$tmp/rpm.flags' &&
            grep -qx '/etc/sysconfig/ha/conf/piranha.passwd root:root -rw-------' '$tmp/rpm.modes'"
    rpm -qp --scripts "$rpmfile" 2>/dev/null >"$tmp/rpm.scripts"
    check "rpm: %pre makes the group and user lvs-web" \
        bash -c "grep -q 'groupadd -r lvs-web' '$tmp/rpm.scripts' && grep -q 'useradd -r -g lvs-web' '$tmp/rpm.scripts'"
    rpm -qpR "$rpmfile" 2>/dev/null >"$tmp/rpm.requires"
    check "rpm: requires libpam (lvs-web)" grep -q '^libpam.so.0' "$tmp/rpm.requires"

    # The upgrade from piranha, in one transaction: a stand-in for the
    # piranha 0.8.6 package (its name, version, and the files ours takes
    # over, lvs.cf as %config(noreplace) as in its spec), installed and
    # configured, then `rpm -U` of ours.
    root=$tmp/rpmroot
    mkdir -p "$root" "$tmp/pir/SPECS" "$tmp/pir/SOURCES"
    cat >"$tmp/pir/SPECS/piranha.spec" <<'EOF'
Name: piranha
Version: 0.8.6
Release: 7
Summary: stand-in for the piranha package (test fixture)
License: GPLv2+
BuildArch: noarch
%description
Stand-in used by lvs-director's packaging check.
%install
mkdir -p %{buildroot}/usr/sbin %{buildroot}/etc/sysconfig/ha
for b in pulse lvsd nanny send_arp; do printf '#!/bin/sh\necho piranha\n' >%{buildroot}/usr/sbin/$b; done
printf 'serial_no = 1\n' >%{buildroot}/etc/sysconfig/ha/lvs.cf
mkdir -p %{buildroot}/etc/sysconfig/ha/conf
: >%{buildroot}/etc/sysconfig/ha/conf/piranha.passwd
%files
%attr(0755,root,root) /usr/sbin/pulse
%attr(0755,root,root) /usr/sbin/lvsd
%attr(0755,root,root) /usr/sbin/nanny
%attr(0755,root,root) /usr/sbin/send_arp
%config(noreplace) /etc/sysconfig/ha/lvs.cf
%dir /etc/sysconfig/ha/conf
%config(noreplace) %attr(0600,root,root) /etc/sysconfig/ha/conf/piranha.passwd
EOF
    rpmbuild -bb --quiet --define "_topdir $tmp/pir" "$tmp/pir/SPECS/piranha.spec" >"$tmp/pir.log" 2>&1 ||
        bad "rpm: build the piranha stand-in" "$(cat "$tmp/pir.log")"
    rpm_r() { rpm --root "$root" --nodeps --noscripts "$@" 2>&1 | grep -v 'Alien\|assuming you know'; return "${PIPESTATUS[0]}"; }
    rpm --root "$root" --initdb
    check "rpm: install the piranha stand-in" rpm_r -i "$tmp/pir/RPMS/noarch/piranha-0.8.6-7.noarch.rpm"
    # The router's real configuration, edited long ago.
    cat >"$root/etc/sysconfig/ha/lvs.cf" <<'EOF'
serial_no = 40
primary = 203.0.113.2
service = lvs
backup_active = 1
backup = 203.0.113.3
heartbeat = 1
heartbeat_port = 539
keepalive = 6
deadtime = 18
network = direct
virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     port = 80
     scheduler = wlc
     protocol = tcp
     timeout = 6
     reentry = 15
     server web1 {
         address = 192.0.2.11
         active = 1
         weight = 1
     }
}
EOF
    sum=$(md5sum <"$root/etc/sysconfig/ha/lvs.cf")
    # The password piranha-passwd (htpasswd) set there.
    echo 'piranha:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/' >"$root/etc/sysconfig/ha/conf/piranha.passwd"
    pw_sum=$(md5sum <"$root/etc/sysconfig/ha/conf/piranha.passwd")
    check "rpm: rpm -U lvs-director over piranha" rpm_r -U "$rpmfile"
    check "rpm: piranha is gone in the same transaction" \
        bash -c "rpm --root '$root' -qa 2>/dev/null | grep -qx 'lvs-director-[^ ]*' && ! rpm --root '$root' -q piranha >/dev/null 2>&1"
    check "rpm: the router's lvs.cf is kept (the sample lands as lvs.cf.rpmnew)" \
        bash -c "test \"\$(md5sum <'$root/etc/sysconfig/ha/lvs.cf')\" = '$sum' && test -f '$root/etc/sysconfig/ha/lvs.cf.rpmnew'"
    check "rpm: piranha's piranha.passwd is kept (owned by both packages, no .rpmsave)" \
        bash -c "test \"\$(md5sum <'$root/etc/sysconfig/ha/conf/piranha.passwd')\" = '$pw_sum' &&
            test ! -e '$root/etc/sysconfig/ha/conf/piranha.passwd.rpmsave'"
    check "rpm: the installed lvsd --check passes on the kept lvs.cf" \
        "$root/usr/sbin/lvsd" --check -c "$root/etc/sysconfig/ha/lvs.cf"
    check "rpm: the installed executables are ours" bash -c "'$root/usr/sbin/pulse' --version | grep -q '^pulse '"
fi

# ---- systemd unit ---------------------------------------------------------
echo "== systemd"
if [ -f "$deb" ]; then
    ext=$tmp/ext
    dpkg-deb -x "$deb" "$ext"
    units=$tmp/units
    mkdir -p "$units/pulse.service.d"
    cp "$ext/usr/lib/systemd/system/pulse.service" "$units/"
    # systemd-analyze verify checks that the executables and man pages
    # exist: show it the installed ones over the host's (overlay in a
    # private mount namespace; /sbin/modprobe stays the host's).
    verify() { # [UNIT]: pulse.service by default
        unshare -m bash -c '
            set -e
            mount --make-rprivate /
            mount -t overlay overlay -o "lowerdir=$1/usr/sbin:/usr/sbin" /usr/sbin
            mkdir -p /usr/libexec
            mount -t overlay overlay -o "lowerdir=$1/usr/libexec:/usr/libexec" /usr/libexec
            MANPATH=$1/usr/share/man:/usr/share/man systemd-analyze verify "$2" 2>&1
        ' verify "$ext" "$units/${1:-pulse.service}"
    }
    out=$(verify)
    if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify pulse.service: clean"; else bad "systemd-analyze verify pulse.service" "$out"; fi
    cp systemd/pulse.service.d/hardening.conf.example "$units/pulse.service.d/hardening.conf"
    out=$(verify)
    if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify with the hardening drop-in: clean"; else bad "systemd-analyze verify with the hardening drop-in" "$out"; fi
    rm -r "$units/pulse.service.d"
    for want in 'Type=notify' 'WatchdogSec=' 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' \
        'ConditionPathExists=/etc/sysconfig/ha/lvs.cf' 'EnvironmentFile=-/etc/sysconfig/pulse' \
        'ExecStartPre=/usr/sbin/lvsd --check -c /etc/sysconfig/ha/lvs.cf' 'ProtectSystem=full' \
        'ExecStart=/usr/sbin/pulse $OPTIONS' 'LimitNOFILE='; do
        check "unit has $want" grep -qF -- "$want" systemd/pulse.service
    done
    score=$(systemd-analyze security --offline=yes "$units/pulse.service" 2>/dev/null | awk '/Overall exposure level/ {print $(NF-2), $(NF-1)}')
    [ -n "$score" ] && echo "      (systemd-analyze security --offline: $score)"

    # The configuration tool's units (piranha-gui's Requires= names
    # lvs-admin.service: both in one directory).
    for u in lvs-admin.service piranha-gui.service; do
        cp "$ext/usr/lib/systemd/system/$u" "$units/"
        out=$(verify "$u")
        if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify $u: clean"; else bad "systemd-analyze verify $u" "$out"; fi
    done
    for want in 'User=lvs-web' 'Group=lvs-web' 'CapabilityBoundingSet=' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
        'PrivateTmp=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'Requires=lvs-admin.service' \
        'StateDirectory=lvs-web' 'EnvironmentFile=-/etc/sysconfig/piranha-gui'; do
        check "piranha-gui.service has $want" grep -qxF -- "$want" systemd/piranha-gui.service
    done
    check "piranha-gui.service starts after lvs-admin.service" grep -qE '^After=(.* )?lvs-admin[.]service( |$)' systemd/piranha-gui.service
    check "piranha-gui.service grants no capability" \
        bash -c "! grep -E '^(CapabilityBoundingSet|AmbientCapabilities)=.+' systemd/piranha-gui.service"
    for want in 'CapabilityBoundingSet=CAP_CHOWN CAP_KILL CAP_NET_ADMIN CAP_DAC_READ_SEARCH CAP_AUDIT_WRITE' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
        'ReadWritePaths=/etc/sysconfig/ha /run' 'StateDirectory=lvs-admin' 'EnvironmentFile=-/etc/sysconfig/lvs-admin' \
        'ExecStart=/usr/sbin/lvs-admin serve $OPTIONS'; do
        check "lvs-admin.service has $want" grep -qxF -- "$want" systemd/lvs-admin.service
    done
    for u in lvs-admin piranha-gui; do
        score=$(systemd-analyze security --offline=yes "$units/$u.service" 2>/dev/null | awk '/Overall exposure level/ {print $(NF-2), $(NF-1)}')
        [ -n "$score" ] && echo "      ($u.service: systemd-analyze security --offline: $score)"
    done
fi

# ---- DELAY ------------------------------------------------------------------
echo "== DELAY"
elapsed() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
ms=$(DELAY=0.4 elapsed systemd/pulse-delay)
if [ "$ms" -ge 400 ] && [ "$ms" -lt 2000 ]; then ok "DELAY=0.4 waits 0.4 s (${ms} ms)"; else bad "DELAY=0.4 waited ${ms} ms"; fi
ms=$(DELAY='' elapsed systemd/pulse-delay)
if [ "$ms" -lt 300 ]; then ok "no DELAY: no wait (${ms} ms)"; else bad "no DELAY waited ${ms} ms"; fi
out=$(DELAY=soon systemd/pulse-delay 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q 'DELAY=soon is neither' <<<"$out"; then ok "DELAY=soon: reported, no wait, start goes on"; else bad "DELAY=soon" "$out"; fi
range_ok=1
for _ in 1 2 3 4 5 6 7 8; do
    v=$(DELAY=random timeout 6 systemd/pulse-delay 2>&1 | sed -n 's/.*waiting \([0-9.]*\) s.*/\1/p')
    [[ "$v" =~ ^[0-4]\.[0-9]$ ]] || range_ok=0
done
if [ $range_ok = 1 ]; then ok "DELAY=random: 0.0 to 4.9 s in tenths"; else bad "DELAY=random gave $v"; fi

# ---- init script ----------------------------------------------------------
echo "== init script"
check "shellcheck the init scripts, pulse-delay, the deb scripts, web-check.sh" \
    shellcheck etc/init.d/pulse etc/init.d/lvs-admin etc/init.d/piranha-gui systemd/pulse-delay \
    packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm packaging/web-check.sh
check "shellcheck completions (bash)" shellcheck -s bash completions/lvs-director.bash
pulse_bin=${ext:-}/usr/sbin/pulse
[ -x "$pulse_bin" ] || pulse_bin=$repo/target/release/pulse
init() { env PULSE_SYSTEMD_DIR="$tmp/no-systemd" PULSE_SYSCONFIG="$tmp/sysconfig" \
    PULSE_PIDFILE="$tmp/pulse.pid" PULSE_LOCKFILE="$tmp/lock/pulse" \
    PULSE_DELAY_BIN="$repo/systemd/pulse-delay" PULSE_STOP_TIMEOUT=10 "$@"; }
: >"$tmp/sysconfig"
status "init: start without the pulse executable exits 5" 5 init PULSE_BIN=/nonexistent/pulse LVS_CF="$repo/etc/lvs.cf" sh etc/init.d/pulse start
status "init: start without lvs.cf exits 6" 6 init PULSE_BIN="$pulse_bin" LVS_CF="$tmp/none.cf" sh etc/init.d/pulse start
status "init: reload without lvs.cf exits 6" 6 init PULSE_BIN="$pulse_bin" LVS_CF="$tmp/none.cf" sh etc/init.d/pulse reload
status "init: status without the executable exits 4 (LSB)" 4 init PULSE_BIN=/nonexistent/pulse sh etc/init.d/pulse status
status "init: status when stopped exits 3" 3 init PULSE_BIN="$pulse_bin" sh etc/init.d/pulse status
status "init: an unknown action exits 1 with the usage" 1 init sh etc/init.d/pulse bogus
echo 999999 >"$tmp/pulse.pid"
status "init: status with a stale pid file exits 1" 1 init PULSE_BIN="$pulse_bin" sh etc/init.d/pulse status
rm -f "$tmp/pulse.pid"

# Delegation to systemctl (a recording stand-in on PATH).
mkdir -p "$tmp/fakebin" "$tmp/systemd"
printf '#!/bin/sh\necho "$@" >>%s/systemctl.log\n' "$tmp" >"$tmp/fakebin/systemctl"
chmod +x "$tmp/fakebin/systemctl"
for a in start stop reload status condrestart; do
    env PATH="$tmp/fakebin:$PATH" PULSE_SYSTEMD_DIR="$tmp/systemd" sh etc/init.d/pulse "$a" >/dev/null 2>&1
done
check "init: under systemd every action goes to systemctl (condrestart = try-restart)" \
    test "$(tr '\n' ';' <"$tmp/systemctl.log")" = "start pulse.service;stop pulse.service;reload pulse.service;status pulse.service;try-restart pulse.service;"
: >"$tmp/systemctl.log"
for a in start stop status condrestart force-reload; do
    env PATH="$tmp/fakebin:$PATH" LVS_ADMIN_SYSTEMD_DIR="$tmp/systemd" sh etc/init.d/lvs-admin "$a" >/dev/null 2>&1
    env PATH="$tmp/fakebin:$PATH" PIRANHA_GUI_SYSTEMD_DIR="$tmp/systemd" sh etc/init.d/piranha-gui "$a" >/dev/null 2>&1
done
check "init: lvs-admin and piranha-gui under systemd go to systemctl (force-reload = restart)" \
    test "$(tr '\n' ';' <"$tmp/systemctl.log")" = "start lvs-admin.service;start piranha-gui.service;stop lvs-admin.service;stop piranha-gui.service;status lvs-admin.service;status piranha-gui.service;try-restart lvs-admin.service;try-restart piranha-gui.service;restart lvs-admin.service;restart piranha-gui.service;"
# Their exit codes without systemd (the real start/stop: web-check.sh).
ninit() { env LVS_ADMIN_SYSTEMD_DIR="$tmp/no-systemd" PIRANHA_GUI_SYSTEMD_DIR="$tmp/no-systemd" \
    LVS_ADMIN_PIDFILE="$tmp/lvs-admin.pid" PIRANHA_GUI_PIDFILE="$tmp/piranha-gui.pid" \
    LVS_ADMIN_SYSCONFIG=/nonexistent PIRANHA_GUI_SYSCONFIG=/nonexistent "$@"; }
for s in lvs-admin piranha-gui; do
    bin=/usr/sbin/lvs-admin; [ "$s" = piranha-gui ] && bin=/usr/sbin/lvs-web
    xbin=${ext:-}$bin
    [ -x "$xbin" ] || xbin=$repo/target/release/$(basename "$bin")
    status "init: $s start without the executable exits 5" 5 ninit LVS_ADMIN_BIN=/nonexistent/x LVS_WEB_BIN=/nonexistent/x \
        LVS_CF="$repo/etc/lvs.cf" sh "etc/init.d/$s" start
    status "init: $s start without lvs.cf exits 6" 6 ninit LVS_ADMIN_BIN="$xbin" LVS_WEB_BIN="$xbin" LVS_CF="$tmp/none.cf" \
        sh "etc/init.d/$s" start
    status "init: $s status without the executable exits 4 (LSB)" 4 ninit LVS_ADMIN_BIN=/nonexistent/x LVS_WEB_BIN=/nonexistent/x \
        sh "etc/init.d/$s" status
    status "init: $s status when stopped exits 3" 3 ninit LVS_ADMIN_BIN="$xbin" LVS_WEB_BIN="$xbin" sh "etc/init.d/$s" status
    status "init: $s reload is not supported (exit 3)" 3 ninit LVS_ADMIN_BIN="$xbin" LVS_WEB_BIN="$xbin" LVS_CF="$repo/etc/lvs.cf" \
        LVS_WEB_USER=root sh "etc/init.d/$s" reload
    status "init: $s with an unknown action exits 1" 1 ninit sh "etc/init.d/$s" bogus
    echo 999999 >"$tmp/$s.pid"
    status "init: $s status with a stale pid file exits 1" 1 ninit LVS_ADMIN_BIN="$xbin" LVS_WEB_BIN="$xbin" sh "etc/init.d/$s" status
    rm -f "$tmp/$s.pid"
done
web_bin=${ext:+$ext/usr/sbin/lvs-web}
web_bin=${web_bin:-$repo/target/release/lvs-web}
status "init: piranha-gui start without the user lvs-web exits 6" 6 ninit LVS_WEB_BIN="$web_bin" \
    LVS_CF="$repo/etc/lvs.cf" LVS_WEB_USER=lvs-web-no-such-user sh etc/init.d/piranha-gui start

# A real start/status/reload/stop of pulse --test-start in a namespace
# that holds the primary's address (so pulse is master); the backup is
# silent, so pulse goes active after deadtime and raises the VIP.
if ip netns add "$ns" 2>/dev/null; then
    ip -n "$ns" link set lo up
    ip -n "$ns" link add ops0 type veth peer name ops1
    ip -n "$ns" link set ops1 up
    ip -n "$ns" addr add 192.0.2.1/24 dev ops0
    ip -n "$ns" link set ops0 up
    cat >"$tmp/lvs.cf" <<'EOF'
serial_no = 1
primary = 192.0.2.1
service = lvs
backup_active = 1
backup = 192.0.2.2
heartbeat = 1
heartbeat_port = 5390
keepalive = 0.2
deadtime = 0.6
network = direct
virtual web {
     active = 1
     address = 203.0.113.10 ops0:1
     vip_nmask = 255.255.255.0
     port = 80
     server web1 {
         address = 192.0.2.11
         active = 1
     }
}
EOF
    printf 'OPTIONS="-t --socket=%s/pulse.sock"\nDELAY=0.3\n' "$tmp" >"$tmp/sysconfig"
    in_ns() { init PULSE_BIN="$pulse_bin" LVS_CF="$tmp/lvs.cf" ip netns exec "$ns" "$@"; }
    ms=$(elapsed in_ns sh etc/init.d/pulse start)
    if in_ns sh etc/init.d/pulse status >/dev/null 2>&1; then
        ok "init: start runs pulse (DELAY=0.3 from the sysconfig file: ${ms} ms)"
        pids+=("$(cat "$tmp/pulse.pid")")
    else
        bad "init: start" "$(in_ns sh etc/init.d/pulse status 2>&1)"
    fi
    [ "$ms" -ge 300 ] && ok "init: start waited DELAY" || bad "init: start took ${ms} ms, DELAY=0.3"
    status "init: status of the running pulse exits 0" 0 in_ns sh etc/init.d/pulse status
    status "init: start when running exits 0 and starts no second pulse" 0 in_ns sh etc/init.d/pulse start
    # Active after deadtime: the VIP is up.
    vip=0
    for _ in $(seq 1 50); do
        ip -n "$ns" addr show dev ops0 | grep -q 203.0.113.10 && { vip=1; break; }
        sleep 0.1
    done
    [ $vip = 1 ] && ok "init: the started pulse went active (VIP raised)" || bad "init: no VIP after 5 s"
    status "init: reload exits 0" 0 in_ns sh etc/init.d/pulse reload
    pid=$(cat "$tmp/pulse.pid" 2>/dev/null)
    status "init: stop exits 0" 0 in_ns sh etc/init.d/pulse stop
    check "init: pulse is gone after stop" bash -c "[ -n '$pid' ] && ! kill -0 '$pid' 2>/dev/null"
    if [ $vip = 1 ] && ! ip -n "$ns" addr show dev ops0 | grep -q 203.0.113.10; then
        ok "init: stop removed the VIP"
    else
        bad "init: stop removed the VIP (raised: $vip)"
    fi
    status "init: status after stop exits 3" 3 in_ns sh etc/init.d/pulse status
    status "init: reload when stopped exits 7" 7 in_ns sh etc/init.d/pulse reload
    status "init: condrestart when stopped exits 0 and starts nothing" 0 in_ns sh etc/init.d/pulse condrestart
    status "init: still stopped after condrestart" 3 in_ns sh etc/init.d/pulse status

    # A package upgrade replaces /usr/sbin/pulse under the running pulse
    # (new file renamed over the old): status and stop still find it.
    mkdir -p "$tmp/upg"
    cp "$pulse_bin" "$tmp/upg/pulse"
    printf 'OPTIONS="-t --socket=%s/pulse.sock"\n' "$tmp" >"$tmp/sysconfig"
    up() { init PULSE_BIN="$tmp/upg/pulse" LVS_CF="$tmp/lvs.cf" ip netns exec "$ns" "$@"; }
    status "init: start (before the upgrade)" 0 up sh etc/init.d/pulse start
    pid=$(cat "$tmp/pulse.pid" 2>/dev/null)
    pids+=("$pid")
    cp "$pulse_bin" "$tmp/upg/pulse.new" && mv "$tmp/upg/pulse.new" "$tmp/upg/pulse"
    status "init: status finds pulse after its executable was replaced" 0 up sh etc/init.d/pulse status
    status "init: stop after the upgrade" 0 up sh etc/init.d/pulse stop
    check "init: the old pulse is gone" bash -c "[ -n '$pid' ] && ! kill -0 '$pid' 2>/dev/null"
    # A failure above must not leave the heartbeat port taken for the rest.
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && sleep 0.2

    # ---- pulse as the unit starts it: foreground, NOTIFY_SOCKET ----------
    echo "== pulse under Type=notify"
    "$listen" "$tmp/notify" 5 >"$tmp/notify.log" 2>&1 &
    pids+=($!)
    listener=$!
    for _ in $(seq 1 50); do grep -q listening "$tmp/notify.log" 2>/dev/null && break; sleep 0.1; done
    # ip netns exec execs the command: $! is pulse itself.
    ip netns exec "$ns" env NOTIFY_SOCKET="$tmp/notify" WATCHDOG_USEC=400000 \
        "$pulse_bin" -t -c "$tmp/lvs.cf" --pidfile "$tmp/pulse-n.pid" --socket="$tmp/pulse-n.sock" \
        >"$tmp/pulse-n.out" 2>&1 &
    pulse_pid=$!
    pids+=("$pulse_pid")
    sleep 2.5
    check "notify: pulse stays in the foreground (the process started is the one in the pid file)" \
        bash -c "kill -0 $pulse_pid && test \"\$(cat '$tmp/pulse-n.pid')\" = $pulse_pid"
    kill -TERM "$pulse_pid" 2>/dev/null
    wait "$pulse_pid"
    rc=$?
    wait "$listener"
    log=$(cat "$tmp/notify.log")
    [ "$rc" -eq 0 ] && ok "notify: SIGTERM ends pulse with status 0" || bad "notify: pulse exit status $rc" "$(cat "$tmp/pulse-n.out")"
    first=$(sed -n 2p "$tmp/notify.log" | cut -d' ' -f2-)
    check "notify: the first message is READY=1 with the role and partner" \
        test "$first" = "READY=1|STATUS=master, inactive; partner 192.0.2.2 silent (test-start)"
    check "notify: STATUS= follows the takeover" grep -q 'STATUS=master, active; partner 192.0.2.2 silent (test-start)$' <<<"$log"
    n=$(grep -c ' WATCHDOG=1$' <<<"$log")
    if [ "$n" -ge 6 ] && [ "$n" -le 20 ]; then ok "notify: watchdog pinged every WATCHDOG_USEC/2 ($n pings in ~2.5 s at 0.4 s)"; else bad "notify: $n watchdog pings in ~2.5 s" "$log"; fi
    check "notify: STOPPING=1 at the end" test "$(tail -n1 "$tmp/notify.log" | cut -d' ' -f2-)" = "STOPPING=1"
    check "notify: in the foreground pulse logs to syslog, nothing on stdout/stderr" test ! -s "$tmp/pulse-n.out"

    # ---- the hardening drop-in's capability set --------------------------
    # pulse with only CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE
    # CAP_KILL and no_new_privs (what hardening.conf.example leaves):
    # binds port 539, raises the VIP, sends its ARPs. Without
    # CAP_NET_ADMIN it cannot raise the VIP: the check measures something.
    sed 's/^heartbeat_port = .*/heartbeat_port = 539/; s/^network = direct/network = direct\narp_count = 2\narp_interval = 0.1/' \
        "$tmp/lvs.cf" >"$tmp/caps.cf"
    caps_run() { # CAPS OUT
        ip netns exec "$ns" setpriv --bounding-set "$1" --inh-caps=-all --no-new-privs \
            "$pulse_bin" -n -t -c "$tmp/caps.cf" --pidfile "$tmp/caps.pid" --socket="$tmp/caps.sock" >"$2" 2>&1 &
        local p=$!
        pids+=("$p")
        local vip=0
        for _ in $(seq 1 30); do
            ip -n "$ns" addr show dev ops0 | grep -q 203.0.113.10 && { vip=1; break; }
            sleep 0.1
        done
        sleep 0.5
        kill -TERM "$p" 2>/dev/null
        wait "$p"
        echo "$vip"
    }
    vip=$(caps_run -all,+net_admin,+net_raw,+net_bind_service,+kill "$tmp/caps.out")
    if [ "$vip" = 1 ] && grep -q 'gratuitous lvs arps finished' "$tmp/caps.out" &&
        ! grep -qi 'not permitted\|cannot' "$tmp/caps.out"; then
        ok "sandbox: pulse works with the drop-in's four capabilities and no_new_privs (port 539, VIP, ARP)"
    else
        bad "sandbox: pulse with the drop-in's four capabilities (VIP raised: $vip)" "$(cat "$tmp/caps.out")"
    fi
    vip=$(caps_run -all,+net_raw,+net_bind_service,+kill "$tmp/caps-no-admin.out")
    if [ "$vip" = 0 ]; then
        ok "sandbox: without CAP_NET_ADMIN the VIP cannot be raised"
    else
        bad "sandbox: the VIP came up without CAP_NET_ADMIN" "$(cat "$tmp/caps-no-admin.out")"
    fi
    status "sandbox: without CAP_NET_BIND_SERVICE port 539 cannot be bound (exit 1)" 1 \
        timeout 5 ip netns exec "$ns" setpriv --bounding-set -all,+net_admin,+net_raw,+kill --inh-caps=-all \
        --no-new-privs "$pulse_bin" -n -t -c "$tmp/caps.cf" --pidfile "$tmp/caps.pid" --socket="$tmp/caps.sock"

    # ---- repeated errors are rate-limited ---------------------------------
    # 60 heartbeats of another service from the partner's address in 1.2 s:
    # "Incompatible heartbeat received" at most 5 times (daemon::log's
    # burst per minute), at least once.
    ip -n "$ns" addr add 192.0.2.2/24 dev ops1
    ip netns exec "$ns" "$pulse_bin" -n -t -c "$tmp/lvs.cf" --pidfile "$tmp/rl.pid" --socket="$tmp/rl.sock" \
        >"$tmp/rl.out" 2>&1 &
    rl_pid=$!
    pids+=("$rl_pid")
    sleep 0.5
    ip netns exec "$ns" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 5390))
for _ in range(60):
    s.sendto(b"\x01\x02\x03\x04", ("192.0.2.1", 5390))
    time.sleep(0.02)
'
    sleep 0.3
    kill -TERM "$rl_pid" 2>/dev/null
    wait "$rl_pid"
    ip -n "$ns" addr del 192.0.2.2/24 dev ops1
    # The lines themselves, then the count of those held back, written
    # when pulse exits: together no more than were sent, and most of them
    # (pulse was listening for all but the first few).
    n=$(grep -c '^pulse: Incompatible heartbeat received' "$tmp/rl.out")
    held=$(sed -n 's/^pulse: message repeated \([0-9]*\) times: \[Incompatible heartbeat received.*/\1/p' "$tmp/rl.out")
    if [ "$n" -ge 1 ] && [ "$n" -le 5 ] && [ -n "$held" ] &&
        [ $((n + held)) -ge 30 ] && [ $((n + held)) -le 60 ]; then
        ok "logging: a repeated error is rate-limited (pulse: $n lines and 'message repeated $held times' at exit for 60 bad heartbeats)"
    else
        bad "logging: $n 'Incompatible heartbeat' lines and ${held:-no} held back for 60 bad heartbeats" "$(head -n 20 "$tmp/rl.out")"
    fi

    # ---- logging: ident, facility, one prefix, -n ------------------------
    # /dev/log is the check's own socket: in a private mount namespace, an
    # overlay over /dev holds it (the host's /dev is untouched).
    echo "== logging"
    cat >"$tmp/logcheck.sh" <<'LOGCHECK'
set -u
tmp=$1 ns=$2 pulse=$3 lvsd=$4 nanny=$5 repo=$6 listen=$7
[ -n "$tmp" ] && [ -d "$tmp" ] || exit 1
mount --make-rprivate /
mkdir -p "$tmp/devov/u" "$tmp/devov/w"
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$tmp/devov/u,workdir=$tmp/devov/w" /dev || exit 1
rm -f /dev/log
"$listen" /dev/log 7 >"$tmp/syslog.log" 2>&1 &
listener=$!
for _ in $(seq 1 50); do grep -q listening "$tmp/syslog.log" && break; sleep 0.1; done
# pulse detached, as the init script starts it.
ip netns exec "$ns" "$pulse" -t -c "$tmp/lvs.cf" --pidfile "$tmp/p1.pid" --socket="$tmp/p1.sock"
sleep 1
p1=$(cat "$tmp/p1.pid"); kill -TERM "$p1"
# pulse in the foreground under systemd (nobody listens on its notify socket).
ip netns exec "$ns" env NOTIFY_SOCKET="$tmp/nobody" "$pulse" -t -c "$tmp/lvs.cf" --pidfile "$tmp/p2.pid" --socket="$tmp/p2.sock" >"$tmp/p2.out" 2>&1 &
p2=$!
sleep 1; kill -TERM "$p2"; wait "$p2"
# pulse -n: stdout only.
ip netns exec "$ns" "$pulse" -n -t -c "$tmp/lvs.cf" --pidfile "$tmp/p3.pid" --socket="$tmp/p3.sock" >"$tmp/p3.out" 2>&1 &
p3=$!
sleep 1; kill -TERM "$p3"; wait "$p3"
# lvsd detached (-t: no kernel writes), and with -n.
"$lvsd" -t -c "$repo/etc/lvs.cf" --pidfile "$tmp/l1.pid" --socket "$tmp/l1.sock"
sleep 0.5; l1=$(cat "$tmp/l1.pid"); kill -TERM "$l1"
timeout 1 "$lvsd" -n -t -c "$repo/etc/lvs.cf" --pidfile "$tmp/l2.pid" --socket "$tmp/l2.sock" >"$tmp/l2.out" 2>&1
# nanny as lvsd starts it (-c: no fork), port 80 without send/expect: the
# original's own "nanny: no monitor configured ..." text.
"$nanny" -c -h 127.0.0.1 -p 80 -r 1 -t 0.2 --test-start --lvs -V 203.0.113.10 -M m &
n1=$!
sleep 1; kill -TERM "$n1"; wait "$n1"
wait "$listener"
echo "p1=$p1 p2=$p2 p3=$p3 l1=$l1 n1=$n1" >"$tmp/logpids"
LOGCHECK
    bindir=$(dirname "$pulse_bin")
    unshare -m bash "$tmp/logcheck.sh" "$tmp" "$ns" "$pulse_bin" "$bindir/lvsd" "$bindir/nanny" "$repo" "$listen" 2>"$tmp/logcheck.err"
    p1='' p2='' p3='' l1='' n1=''
    # shellcheck disable=SC1091
    . "$tmp/logpids" 2>/dev/null || bad "logging: the run did not finish" "$(cat "$tmp/logcheck.err")"
    sys=$(cut -d' ' -f2- "$tmp/syslog.log" | grep -v '^listening$')
    body=$(sed -E 's/^<[0-9]+>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} //' <<<"$sys")
    has() { grep -qxF -- "$1" <<<"$body"; }
    check "logging: every line is facility daemon (PRI 24-31)" \
        bash -c '[ -n "$1" ] && ! grep -vE "^<(2[4-9]|3[01])>" <<<"$1" | grep -q .' _ "$sys"
    check "logging: detached pulse logs as pulse[PID]" has "pulse[$p1]: STARTING PULSE AS MASTER"
    check "logging: detached pulse's SIGTERM line" has "pulse[$p1]: Terminating due to signal 15"
    check "logging: pulse in the foreground under systemd logs to syslog too" has "pulse[$p2]: STARTING PULSE AS MASTER"
    check "logging: pulse -n logs to stdout as pulse: ..." grep -qx 'pulse: STARTING PULSE AS MASTER' "$tmp/p3.out"
    check "logging: pulse -n logs nothing to syslog" bash -c '! grep -qF "pulse[$1]" <<<"$2"' _ "$p3" "$body"
    check "logging: lvsd logs as lvsd[PID]" has "lvsd[$l1]: starting virtual service http active: 80"
    check "logging: lvsd -n logs to stdout as lvs: ..." grep -qx 'lvs: starting virtual service http active: 80' "$tmp/l2.out"
    check "logging: nanny logs as nanny[PID]" has "nanny[$n1]: starting LVS client monitor for 203.0.113.10:80 -> 127.0.0.1:1"
    check "logging: one prefix (nanny's own 'nanny: no monitor configured' text)" \
        has "nanny[$n1]: no monitor configured, assuming web service on port 80"
    check "logging: no line carries a second prefix" \
        bash -c '! grep -qE "^(pulse|lvsd|nanny)\[[0-9]+\]: (pulse|lvs|lvsd|nanny): " <<<"$1"' _ "$body"
else
    bad "init: cannot create network namespace $ns"
fi

# ---- the configuration tool as installed ----------------------------------
echo "== configuration tool (installed files, user lvs-web, init scripts, HTTP, TLS)"
if [ -n "${ext:-}" ]; then
    mkdir -p "$tmp/web"
    # lvs-web runs as its own user: it must be able to reach its files.
    chmod 0711 "$tmp"
    out=$(timeout 300 unshare -m bash packaging/web-check.sh "$ext" "$tmp/web" 2>&1)
    grep -E '^(ok|FAIL|      )' <<<"$out"
    passed=$((passed + $(grep -c '^ok ' <<<"$out")))
    failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))
    grep -q '^web: [0-9]* passed, [0-9]* failed$' <<<"$out" ||
        bad "web: the run did not complete" "$(tail -n 20 <<<"$out")"
else
    bad "web: no extracted .deb to run"
fi

# ---- the unit's start in the test guest (real IPVS, lvsd running) ---------
echo "== pulse started as the unit starts it, in the test guest"
if [ "${LVS_SKIP_VM:-0}" = 1 ]; then
    echo "(skipped: LVS_SKIP_VM=1)"
elif [ -n "${ext:-}" ]; then
    mkdir -p "$tmp/guest" "$tmp/setpriv"
    # setpriv (util-linux) and its libcap-ng for the guest, which has neither.
    cp "$(command -v setpriv)" "$tmp/setpriv/" &&
        ldd "$(command -v setpriv)" | awk '/libcap-ng/ { print $3 }' | xargs -r cp -t "$tmp/setpriv/"
    out=$(timeout 600 tests/vm/run.sh --share "$tmp" --timeout 400 -- \
        bash packaging/guest-unit.sh "$ext" "$listen" "$tmp/guest" "$tmp/setpriv" 2>&1)
    grep -E '^(ok|FAIL|      )' <<<"$out" | sed 's/^ok    /ok    guest: /; s/^FAIL  /FAIL  guest: /'
    passed=$((passed + $(grep -c '^ok ' <<<"$out")))
    failed=$((failed + $(grep -c '^FAIL ' <<<"$out")))
    grep -q '^guest: [0-9]* passed, [0-9]* failed$' <<<"$out" ||
        bad "guest: the run did not complete" "$(tail -n 20 <<<"$out")"
fi

# ---- man pages --------------------------------------------------------------
echo "== man pages"
for page in man/*.[58] bin/*/man/*.[58]; do
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null; groff -man -ww -z "$page" 2>&1)
    if [ -z "$out" ]; then ok "man -l $page renders without warnings"; else bad "man -l $page" "$out"; fi
done
if [ -n "${ext:-}" ]; then
    for page in "$ext"/usr/share/man/man*/*.gz; do
        out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
        if [ -z "$out" ] && MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q 'SEE ALSO'; then
            ok "installed $(basename "$page") renders"
        else
            bad "installed $(basename "$page")" "$out"
        fi
    done
fi

# ---- completions ------------------------------------------------------------
echo "== completions"
comp() { # CMD FUNC CWORD WORDS...: the completions, one line
    local fn=$1 cword=$2; shift 2
    bash -c 'source completions/lvs-director.bash; fn=$1 cword=$2; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$cword; "$fn"; printf "%s " "${COMPREPLY[@]}"' comp "$fn" "$cword" "$@"
}
check "bash: lvsd --control down <TAB> offers VIRTUAL/SERVER of the -c file" \
    test "$(comp _lvsd 5 lvsd -c etc/lvs.cf --control down '')" = "http/web1 http/web2 mysql/db1 ftp/ftp1 "
check "bash: --control <TAB> offers down up normal drain" test "$(comp _lvsd 2 lvsd --control '')" = "down up normal drain "
check "bash: lvsd --con<TAB>" test "$(comp _lvsd 1 lvsd --con)" = "--configfile --control "
check "bash: pulse -c <TAB> completes lvs.cf paths" test "$(comp _pulse 2 pulse -c etc/lvs.)" = "etc/lvs.cf "
check "bash: pulse --configfile=<TAB> (split at =) completes paths" test "$(comp _pulse 3 pulse --configfile = etc/lvs.)" = "etc/lvs.cf "
check "bash: nanny -M <TAB>" test "$(comp _nanny 2 nanny -M '')" = "m g i "
check "bash: send_arp -i <TAB> offers interfaces" bash -c "comp() { :; }; [[ \" \$(bash -c 'source completions/lvs-director.bash; COMP_WORDS=(send_arp -i l); COMP_CWORD=2; _send_arp; echo \"\${COMPREPLY[*]}\"') \" == *' lo '* ]]"
check "bash: every command has its completion registered" \
    bash -c 'source completions/lvs-director.bash; for c in pulse lvsd nanny send_arp lvs-admin lvs-web piranha-passwd; do complete -p $c >/dev/null || exit 1; done'
check "bash: lvs-admin --socket PATH ap<TAB> (the global option skipped)" test "$(comp _lvs_admin 3 lvs-admin --socket /x ap)" = "apply "
check "bash: lvs-admin control <TAB> offers down up normal drain" test "$(comp _lvs_admin 2 lvs-admin control '')" = "down up normal drain "
check "bash: lvs-admin serve --pam-group <TAB> offers the roles" \
    test "$(comp _lvs_admin 3 lvs-admin serve --pam-group '')" = "viewer= operator= editor= admin= "
check "bash: piranha-passwd --token NAME <TAB> offers the roles" \
    test "$(comp _piranha_passwd 3 piranha-passwd --token ci '')" = "viewer operator editor admin "
check "bash: piranha-passwd <TAB> offers nothing (the word is the password)" test "$(comp _piranha_passwd 1 piranha-passwd '')" = " "
# Every long option each executable's --help lists is in its man page and
# in both completions: an option added without them fails here.
optbin=${ext:+$ext/usr/sbin}
optbin=${optbin:-$repo/target/release}
verbs=$("$optbin/lvs-admin" --help 2>&1 | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c { printf "%s ", $1 }')
check "bash: lvs-admin <TAB> offers every verb of lvs-admin --help ($verbs)" \
    test "$(comp _lvs_admin 1 lvs-admin '')" = "$verbs"
help_of() { # CMD: every --help text of CMD (lvs-admin: each verb's too)
    "$optbin/$1" --help 2>&1
    if [ "$1" = lvs-admin ]; then
        for v in $("$optbin/$1" --help 2>&1 | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c && $1 != "help" { print $1 }'); do
            "$optbin/$1" "$v" --help 2>&1
        done
    fi
}
for b in pulse lvsd nanny lvs-admin lvs-web piranha-passwd; do
    page=man/$b.8
    [ -f "$page" ] || page=bin/$b/man/$b.8
    opts=$(help_of "$b" | grep -oE -- '--[a-z][a-z0-9_-]*' | sort -u)
    missing=()
    for o in $opts; do
        grep -qF -- "${o//-/\\-}" "$page" || missing+=("$page:$o")
        grep -qE -- "(^|[ \"(|])$o( |\"|\)|$|=)" completions/lvs-director.bash || missing+=("bash:$o")
        grep -qF -- "$o" completions/_lvs-director || missing+=("zsh:$o")
    done
    if [ -n "$opts" ] && [ ${#missing[@]} -eq 0 ]; then
        ok "$b: every option of --help ($(wc -w <<<"$opts")) is in its man page and both completions"
    else
        bad "$b: options of --help missing" "${missing[*]:-no options read}"
    fi
done
check "zsh: the completion function parses" zsh -n completions/_lvs-director
check "zsh: VIRTUAL/SERVER names from lvs.cf" \
    test "$(zsh -fc 'source completions/_lvs-director; _lvs_director_servers etc/lvs.cf' | tr '\n' ' ')" = "http/web1 http/web2 mysql/db1 ftp/ftp1 "

echo
echo "ops: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
