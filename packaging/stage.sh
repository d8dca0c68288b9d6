#!/usr/bin/env bash
# Lay out the installed tree of the package under ROOT: the one list of
# what goes where, shared by the .deb and the .rpm (packaging/build.sh).
#
#   bash packaging/stage.sh ROOT deb|rpm BINDIR
#
# The two differ only where the distributions do: the init script's
# directory (/etc/init.d; RHEL's /etc/rc.d/init.d) and zsh's vendor
# completion directory. Neither ships /usr/sbin/lvs: that is LVM2's.
# piranha-passwd is in /usr/sbin, as the original's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$1 kind=$2 bindir=$3

case "$kind" in
    deb)
        initdir=etc/init.d
        zshdir=usr/share/zsh/vendor-completions
        ;;
    rpm)
        initdir=etc/rc.d/init.d
        zshdir=usr/share/zsh/site-functions
        ;;
    *)
        echo "stage.sh: unknown kind $kind" >&2
        exit 2
        ;;
esac

rm -rf "$root"
d() { install -d -m 0755 "$root/$1"; }
f() { install -D -m "$1" "$2" "$root/$3"; }

for b in pulse lvsd nanny send_arp lvs-admin lvs-web piranha-passwd; do
    f 0755 "$bindir/$b" "usr/sbin/$b"
    strip --strip-unneeded "$root/usr/sbin/$b" 2>/dev/null || true
done
f 0644 systemd/pulse.service usr/lib/systemd/system/pulse.service
f 0755 systemd/pulse-delay usr/libexec/lvs-director/pulse-delay
f 0755 etc/init.d/pulse "$initdir/pulse"
f 0644 etc/sysconfig/pulse etc/sysconfig/pulse
# The configuration tool: its helper (root) and the web UI (user lvs-web,
# made at install from the sysusers.d entry).
for unit in lvs-admin.service piranha-gui.service; do
    f 0644 "systemd/$unit" "usr/lib/systemd/system/$unit"
done
f 0644 systemd/lvs-director.sysusers usr/lib/sysusers.d/lvs-director.conf
for s in lvs-admin piranha-gui; do
    f 0755 "etc/init.d/$s" "$initdir/$s"
    f 0644 "etc/sysconfig/$s" "etc/sysconfig/$s"
done
# piranha.passwd, lvs-web.users, lvs-web.tokens go here: root:lvs-web
# 0750 once installed (the install scripts set the group).
install -d -m 0750 "$root/etc/sysconfig/ha/conf"
# The sample: the admin's file from the first edit on (conffile /
# %config(noreplace)); root only, as it names the heartbeat key file.
f 0640 etc/lvs.cf etc/sysconfig/ha/lvs.cf

# man/, and the pages kept beside their command's sources (bin/*/man/).
for page in man/*.[58] bin/*/man/*.[58]; do
    section=${page##*.}
    d "usr/share/man/man$section"
    gzip -9n <"$page" >"$root/usr/share/man/man$section/$(basename "$page").gz"
    chmod 0644 "$root/usr/share/man/man$section/$(basename "$page").gz"
done

for b in pulse lvsd nanny send_arp lvs-admin lvs-web piranha-passwd; do
    f 0644 completions/lvs-director.bash "usr/share/bash-completion/completions/$b"
done
f 0644 completions/_lvs-director "$zshdir/_lvs-director"

doc=usr/share/doc/lvs-director
for file in README.md docs/operations.md docs/compat.md docs/lvs.cf.md docs/protocol.md docs/web.md; do
    f 0644 "$file" "$doc/$(basename "$file")"
done
f 0644 systemd/pulse.service.d/hardening.conf.example "$doc/hardening.conf.example"
f 0644 packaging/copyright "$doc/copyright"
