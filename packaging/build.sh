#!/usr/bin/env bash
# Build the installable package of the suite, for Debian or RHEL-family
# routers:
#
#   bash packaging/build.sh deb     # target/packages/lvs-director_VERSION-1_ARCH.deb
#   bash packaging/build.sh rpm     # target/packages/lvs-director-VERSION-1.ARCH.rpm
#
# Builds the seven executables in release mode (cargo build --release
# --locked), lays out the installed tree (packaging/stage.sh), and packs
# it with dpkg-deb or rpmbuild (Debian package `rpm`; installed with
# apt-get when missing and this runs as root). PACKAGE_OUT=DIR puts the
# package elsewhere; CARGO_PROFILE=debug packs debug binaries (tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d "$HOME/.cargo/bin" ] && PATH="$HOME/.cargo/bin:$PATH"

kind=${1:-}
case "$kind" in
    deb | rpm) ;;
    *)
        echo "usage: bash packaging/build.sh deb|rpm" >&2
        exit 2
        ;;
esac

NAME=lvs-director
VERSION=$(awk -F'"' '/^\[workspace.package\]/ { p = 1 } p && /^version *=/ { print $2; exit }' Cargo.toml)
RELEASE=1
OUT=${PACKAGE_OUT:-target/packages}
PROFILE=${CARGO_PROFILE:-release}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

pkgs=(-p pulse -p lvs -p nanny -p send_arp -p lvs-admin -p lvs-web -p piranha-passwd)
if [ "$PROFILE" = release ]; then
    cargo build --release --locked "${pkgs[@]}"
else
    cargo build --profile "$PROFILE" --locked "${pkgs[@]}"
fi
bindir=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")

work=$(mktemp -d "${TMPDIR:-/tmp}/lvs-director-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# The newest glibc symbol version the executables need: the package's
# libc dependency (2.34 today: RHEL 9, Debian 12 and later).
glibc=$(for b in pulse lvsd nanny send_arp lvs-admin lvs-web piranha-passwd; do objdump -T "$bindir/$b"; done |
    grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)

summary="LVS director daemons and configuration tool (piranha replacement)"
read -r -d '' description <<'EOF' || true
A drop-in replacement for Red Hat's piranha LVS director daemons. pulse
heartbeats with the partner router and holds the floating addresses on the
active one; lvsd programs the kernel IPVS table from
/etc/sysconfig/ha/lvs.cf over netlink and starts one nanny per real
server; nanny checks a real server's health; send_arp announces a moved
address. Same lvs.cf, command lines, signals and log lines as piranha
0.8.6, with lvsd --check to validate a file before it is used.

The configuration tool replaces the Piranha Configuration Tool
(piranha-gui, port 3636, piranha-passwd): lvs-web, an unprivileged web UI
and JSON API that edits lvs.cf in place (comments and layout kept), shows
each change as a diff and applies it through lvs-admin, a root helper with
fixed verbs that checks, writes, reloads and reverts, keeps a history, and
copies lvs.cf to the backup router over mutual TLS.
EOF

if [ "$kind" = deb ]; then
    bash packaging/stage.sh "$root" deb "$bindir"
    arch=$(dpkg --print-architecture)
    mkdir -p "$root/DEBIAN"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    {
        echo "Package: $NAME"
        echo "Version: $VERSION-$RELEASE"
        echo "Architecture: $arch"
        echo "Maintainer: lvs-director maintainers <lvs-director@example.invalid>"
        echo "Installed-Size: $size"
        # lvs-web: PAM logins, crypt(3) for DES-crypt piranha.passwd lines.
        echo "Depends: libc6 (>= $glibc), libgcc-s1, libpam0g, libcrypt1"
        echo "Recommends: kmod"
        echo "Conflicts: piranha"
        echo "Replaces: piranha"
        echo "Section: net"
        echo "Priority: optional"
        echo "Homepage: https://example.invalid/lvs-director"
        echo "Description: $summary"
        sed 's/^$/./; s/^/ /' <<<"$description"
    } >"$root/DEBIAN/control"
    # Every file under /etc is the admin's once installed: dpkg never
    # overwrites one that was edited (and asks, or keeps it with
    # --force-confold), and keeps them on remove (only purge deletes).
    (cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
    for script in postinst prerm postrm; do
        install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
    done
    (cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 |
        sort -z | xargs -0 md5sum | sed 's|  \./|  |') >"$root/DEBIAN/md5sums"
    file=$OUT/${NAME}_${VERSION}-${RELEASE}_${arch}.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$file" >/dev/null
    echo "$file"
    exit 0
fi

# rpm
if ! command -v rpmbuild >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "build.sh: installing rpm (for rpmbuild)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm >/dev/null; }
    else
        echo "build.sh: rpmbuild not found (Debian: apt-get install rpm; RHEL: dnf install rpm-build)" >&2
        exit 1
    fi
fi
bash packaging/stage.sh "$root" rpm "$bindir"
arch=$(uname -m)
top=$work/rpmbuild
mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS,BUILDROOT}
{
    cat packaging/rpm/lvs-director.spec.head
    echo
    echo "%description"
    echo "$description"
    echo
    cat packaging/rpm/lvs-director.spec.tail
} >"$top/SPECS/$NAME.spec"
rpmbuild -bb --quiet \
    --define "_topdir $top" \
    --define "stage_root $root" \
    --define "pkg_version $VERSION" \
    --define "pkg_release $RELEASE" \
    --define "pkg_summary $summary" \
    --define "glibc_min $glibc" \
    --target "$arch" \
    "$top/SPECS/$NAME.spec" >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; exit 1; }
file=$OUT/$NAME-$VERSION-$RELEASE.$arch.rpm
cp "$top/RPMS/$arch/$NAME-$VERSION-$RELEASE.$arch.rpm" "$file"
echo "$file"
