#!/usr/bin/env bash
# tests/vm/run.sh - run a command as root inside a throw-away qemu guest that
# boots a stock Debian kernel with IPVS (ip_vs + all schedulers), netns, veth,
# dummy, bridge, macvlan, nf_conntrack and 9p.  The host kernel has no IPVS, so
# every test that touches the kernel's IPVS table goes through this script.
#
# Usage: tests/vm/run.sh [OPTIONS] [--] COMMAND [ARG...]
#   --mem SIZE         guest memory (default 512M; env IPVS_VM_MEM)
#   --smp N            guest vCPUs (default 1; env IPVS_VM_SMP)
#   --timeout SEC      kill the guest after SEC seconds, exit 124
#                      (default 600; env IPVS_VM_TIMEOUT)
#   --env NAME=VALUE   set NAME in the guest (--env NAME: take the value from
#                      here).  RUST_*, CARGO_* and LVS_* are passed on anyway.
#   --share DIR        also share host DIR (read-write, same absolute path);
#                      repeatable.  The repository is always shared.
#   --verbose          print setup steps and the guest kernel console
#   --build-only       install packages, fetch the kernel, build the
#                      initramfs, print the cache paths, and exit
#   --rebuild          re-resolve and re-download the kernel, rebuild
#   --accel A          tcg | kvm | auto (default auto = kvm only if usable)
#
# The repository (git top-level of the current directory; if there is none,
# the checkout holding this script) is mounted over 9p at the same absolute
# path.  COMMAND runs via /bin/sh (dash) with cwd = the current directory
# (or the repository root if the current directory is not shared) and
# stdin = /dev/null; its stdout and stderr arrive merged, in order, on this
# script's stdout.  If COMMAND is an existing file outside every share (a
# test binary in a CARGO_TARGET_DIR elsewhere), its directory is shared too.
#
# Exit status: COMMAND's; 124 on timeout; 125 if the guest died without
# reporting one (the kernel console tail is printed) or the setup failed.
#
# As cargo's runner (cargo builds on the host, binaries run in the guest):
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/tests/vm/run.sh --" cargo test ...
#
# Environment: IPVS_VM_CACHE (cache dir, default tests/vm/cache),
#   IPVS_VM_KERNEL_PKG (default: what linux-image-amd64 depends on),
#   IPVS_VM_EXTRA_MODULES, IPVS_VM_EXTRA_BINS (space-separated), IPVS_VM_APPEND
#   (extra kernel command line), IPVS_VM_MEM, IPVS_VM_SMP, IPVS_VM_TIMEOUT.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
CACHE=${IPVS_VM_CACHE:-$HERE/cache}
MEM=${IPVS_VM_MEM:-512M}
SMP=${IPVS_VM_SMP:-1}
TIMEOUT=${IPVS_VM_TIMEOUT:-600}
ACCEL=auto
VERBOSE=0
REBUILD=0
BUILD_ONLY=0
SHARES=()
ENVS=()

die() { echo "vm: $*" >&2; exit 125; }
log() { if [ "$VERBOSE" = 1 ]; then echo "vm: $*" >&2; fi; }
usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; }
valid_name() { [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; }

add_share() {   # add_share DIR: canonical path, skip if already covered
  local d s
  d=$(cd "$1" && pwd -P) || die "cannot share $1"
  case "$d" in *$'\n'*) die "cannot share a path with a newline: $d" ;; esac
  for s in "${SHARES[@]}"; do
    case "$d/" in "$s"/*) return 0 ;; esac
  done
  SHARES+=("$d")
}

while [ $# -gt 0 ]; do
  case "$1" in
    --mem) [ $# -ge 2 ] || die "$1 needs a value"; MEM=$2; shift 2 ;;
    --mem=*) MEM=${1#*=}; shift ;;
    --smp) [ $# -ge 2 ] || die "$1 needs a value"; SMP=$2; shift 2 ;;
    --smp=*) SMP=${1#*=}; shift ;;
    --timeout) [ $# -ge 2 ] || die "$1 needs a value"; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --accel) [ $# -ge 2 ] || die "$1 needs a value"; ACCEL=$2; shift 2 ;;
    --accel=*) ACCEL=${1#*=}; shift ;;
    --env|--env=*)
      if [ "$1" = --env ]; then [ $# -ge 2 ] || die "--env needs NAME=VALUE"; kv=$2; shift 2
      else kv=${1#*=}; shift; fi
      case "$kv" in
        *=*) valid_name "${kv%%=*}" || die "--env: bad name in $kv"; ENVS+=("$kv") ;;
        *) valid_name "$kv" || die "--env: bad name $kv"; ENVS+=("$kv=${!kv-}") ;;
      esac ;;
    --share|--share=*)
      if [ "$1" = --share ]; then [ $# -ge 2 ] || die "--share needs DIR"; d=$2; shift 2
      else d=${1#*=}; shift; fi
      [ -d "$d" ] || die "--share $d: not a directory"
      SHARES+=("$(cd "$d" && pwd -P)") ;;
    --verbose|-v) VERBOSE=1; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --rebuild) REBUILD=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || [ "$BUILD_ONLY" = 1 ] || { usage >&2; exit 125; }
if ! [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]]; then die "--timeout: not a positive number: $TIMEOUT"; fi
if ! [[ $SMP =~ ^[1-9][0-9]*$ ]]; then die "--smp: not a positive number: $SMP"; fi

# ------------------------------------------------------------ host packages
mkdir -p "$CACHE"
# Package installs and all cache changes happen under this lock; runs hold it
# only while they set up (a few ms when everything is in place).
exec 9>"$CACHE/.lock"
flock 9

# qemu-utils from bookworm-backports is preinstalled on some images; bookworm's
# qemu-system-x86 7.2 Breaks it, and a plain `apt-get install -y` would
# silently remove it.  Hence --no-remove everywhere, and if bookworm cannot
# satisfy that, qemu comes from bookworm-backports through a private source
# list (the system's apt configuration is left alone).
APT_O=(-o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root)
apt_get() { apt-get "${APT_O[@]}" "$@" 9>&-; }   # no lock fd for maintainer scripts
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt_get "$@" install -y -q \
    --no-install-recommends --no-remove "${need_pkgs[@]}" >&2
}
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
# the plain "busybox" package is dynamically linked: useless in an initramfs
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need_pkgs+=(busybox-static); fi
[ -x /usr/sbin/ipvsadm ] || need_pkgs+=(ipvsadm)
{ command -v depmod && command -v modprobe; } >/dev/null || need_pkgs+=(kmod)
[ -x /usr/bin/arping ] || need_pkgs+=(iputils-arping)
command -v tcpdump >/dev/null || need_pkgs+=(tcpdump)
{ command -v ip && command -v ss; } >/dev/null || need_pkgs+=(iproute2)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
{ command -v pkill && command -v ps; } >/dev/null || need_pkgs+=(procps)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages: ${need_pkgs[*]} (install them as root)"
  echo "vm: installing ${need_pkgs[*]}" >&2
  apt_get update -q >&2 || echo "vm: apt-get update failed; trying anyway" >&2
  if ! apt_install; then
    echo "vm: retrying with bookworm-backports (keeps the installed qemu-utils)" >&2
    bpo=$(mktemp -d "$CACHE/apt-bpo.XXXXXX")
    mkdir -p "$bpo/lists/partial"
    {
      printf 'deb http://deb.debian.org/debian %s main\n' bookworm bookworm-updates bookworm-backports
      printf 'deb http://deb.debian.org/debian-security bookworm-security main\n'
    } > "$bpo/sources.list"
    bpo_o=(-o Dir::Etc::sourcelist="$bpo/sources.list" -o Dir::Etc::sourceparts=-
           -o Dir::State::lists="$bpo/lists")
    ok=1
    apt_get "${bpo_o[@]}" update -q >&2 &&
      apt_install "${bpo_o[@]}" -t bookworm-backports || ok=0
    rm -rf "$bpo"
    [ "$ok" = 1 ] || die "apt-get install ${need_pkgs[*]} failed"
  fi
fi

# ------------------------------------------------------------ kernel

resolve_kernel() {   # prints "PKG VERSION"
  local pkg=${IPVS_VM_KERNEL_PKG:-} ver
  if [ -z "$pkg" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && k == "" {k = $2} END {print k}')
  fi
  [ -n "$pkg" ] || return 1
  ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" && v == "" {v = $2} END {print v}')
  [ -n "$ver" ] || return 1
  echo "$pkg $ver"
}
# Re-resolve when asked, when there is no answer yet, when the apt lists
# changed since (a new kernel upload shows up after `apt-get update`), or when
# IPVS_VM_KERNEL_PKG names another package.
KREF=$CACHE/kernel-ref
need_resolve=$REBUILD
[ -s "$KREF" ] || need_resolve=1
if [ "$need_resolve" = 0 ] && [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$KREF" -print -quit 2>/dev/null)" ]; then
  need_resolve=1
fi
if [ "$need_resolve" = 0 ] && [ -n "${IPVS_VM_KERNEL_PKG:-}" ] && [ "$(cut -d' ' -f1 "$KREF")" != "$IPVS_VM_KERNEL_PKG" ]; then
  need_resolve=1
fi
if [ "$need_resolve" = 1 ]; then
  log "resolving the kernel package"
  ref=$(resolve_kernel) || { apt_get update -q >&2 || true; ref=$(resolve_kernel); } ||
    die "cannot resolve the kernel package (apt-cache depends linux-image-amd64)"
  echo "$ref" > "$KREF.tmp"; mv "$KREF.tmp" "$KREF"
fi
read -r KPKG KPKGVER < "$KREF"
KDIR=$CACHE/kernel/${KPKG}_${KPKGVER//:/%}

fetch_kernel() {
  rm -rf "$KDIR"; mkdir -p "$KDIR/dl"
  echo "vm: downloading $KPKG $KPKGVER" >&2
  # download + unpack only: installing a kernel on the host would run
  # initramfs/bootloader hooks for nothing.
  getdeb() { ( cd "$KDIR/dl" && apt_get download -q "$KPKG=$KPKGVER" >&2 ); }
  getdeb || { apt_get update -q >&2 && getdeb; } || return 1
  mv "$KDIR"/dl/*.deb "$KDIR/kernel.deb"; rmdir "$KDIR/dl"
  # keep boot/ and the .deb; the module tree is unpacked only while an
  # initramfs is built
  dpkg-deb --fsys-tarfile "$KDIR/kernel.deb" | tar -x -C "$KDIR" --wildcards './boot/*' || return 1
  echo "$KPKG $KPKGVER" > "$KDIR/ref"
  touch "$KDIR/.done"
}
if [ "$REBUILD" = 1 ] || ! [ -f "$KDIR/.done" ]; then
  if fetch_kernel; then
    # drop other kernels (runs in progress have their own links to the files)
    for d in "$CACHE"/kernel/*; do if [ "$d" != "$KDIR" ]; then rm -rf "$d"; fi; done
  else
    rm -rf "$KDIR"
    # offline, or that version left the mirror: keep using the cached kernel
    old=
    for d in "$CACHE"/kernel/*; do
      if [ -f "$d/.done" ] && [ -s "$d/ref" ]; then old=$d; fi
    done
    [ -n "$old" ] || die "apt-get download $KPKG=$KPKGVER failed"
    KDIR=$old
    read -r KPKG KPKGVER < "$KDIR/ref"
    echo "vm: warning: download failed; using the cached $KPKG $KPKGVER" >&2
    cp "$KDIR/ref" "$KREF"
  fi
fi
[ -s "$KDIR/ref" ] || echo "$KPKG $KPKGVER" > "$KDIR/ref"
KVER=$(basename "$(echo "$KDIR"/boot/vmlinuz-*)"); KVER=${KVER#vmlinuz-}
VMLINUZ=$KDIR/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "no $VMLINUZ"
# TCG needs ~3 s to decompress the xz bzImage.  The Debian kernel has
# CONFIG_PVH=y, so qemu can boot the uncompressed ELF vmlinux through its PVH
# entry point: unpack it once from the bzImage payload.
KERNEL=$VMLINUZ
if grep -q '^CONFIG_PVH=y' "$KDIR/boot/config-$KVER"; then
  if ! [ -s "$KDIR/vmlinux" ]; then
    log "unpacking vmlinux"
    off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$VMLINUZ" | awk -F: 'NR == 1 {print $1}')
    # no pipe here: xz stops after the first stream and tail would get SIGPIPE
    if [ -n "$off" ] && tail -c +$((off + 1)) "$VMLINUZ" > "$KDIR/vmlinux.xz" &&
       xz -dc --single-stream "$KDIR/vmlinux.xz" > "$KDIR/vmlinux.tmp" 2>/dev/null &&
       [ "$(head -c 4 "$KDIR/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
    else
      rm -f "$KDIR/vmlinux.tmp"
    fi
    rm -f "$KDIR/vmlinux.xz"
  fi
  if [ -s "$KDIR/vmlinux" ]; then KERNEL=$KDIR/vmlinux; fi
fi
grep -q '^CONFIG_9P_FS=' "$KDIR/boot/config-$KVER" ||
  die "$KPKG has no 9p (cloud flavour?); the repository share needs it"

# ------------------------------------------------------------ initramfs
read -r -a extra_mods <<< "${IPVS_VM_EXTRA_MODULES:-}"
MODULES=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
  ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_mh ip_vs_fo ip_vs_ovf
  ip_vs_ftp ip_vs_pe_sip nf_conntrack nf_nat nf_conntrack_netlink veth dummy
  macvlan bridge 8021q 9p 9pnet_virtio virtio_pci "${extra_mods[@]}")
# Real (glibc) tools; busybox provides every other applet.  Host-built cargo
# binaries need glibc + libgcc_s, which come along with these.
read -r -a extra_bins <<< "${IPVS_VM_EXTRA_BINS:-}"
BINS=()   # entries "HOSTPATH=NAME"
for b in dash bash ipvsadm ip ss bridge tc arping tcpdump ping timeout grep sed \
         mawk ps pkill pgrep kill sysctl "${extra_bins[@]}"; do
  p=$(command -v "$b" 2>/dev/null || true)
  case "$p" in /*) BINS+=("$(readlink -f "$p")=${b##*/}") ;; esac
done
EXTRA_LIBS=(libc.so.6 libm.so.6 libgcc_s.so.1 libpthread.so.0 libdl.so.2 librt.so.1
  libutil.so.1 libresolv.so.2 libz.so.1 libstdc++.so.6
  # lvs-admin checks web logins with PAM.
  libpam.so.0 libcrypt.so.1 libaudit.so.1 libcap-ng.so.0)
stamp() {
  cat "$SELF"
  printf '%s\n' "$KPKG" "$KPKGVER" "${MODULES[@]}" "${BINS[@]}" "${EXTRA_LIBS[@]}"
  local kv; for kv in "${BINS[@]}" /bin/busybox=busybox; do stat -L -c '%n %s %Y' "${kv%%=*}"; done
}
STAMP=$(stamp | sha256sum | cut -c1-16)
INITRD=$KDIR/initramfs-$STAMP.cpio

copy_with_libs() {   # copy_with_libs SRC DST: DST inside $ROOT, plus the libs
  local src=$1 dst=$2 lib ldst
  mkdir -p "$ROOT$(dirname "$dst")"
  cp -L "$src" "$ROOT$dst"
  ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
  while read -r lib; do
    # merged /usr: /lib == /usr/lib in the guest
    ldst=/usr/lib/${lib#*/lib/}
    case "$lib" in /lib64/*|/usr/lib64/*) ldst=/usr/lib64/${lib#*/lib64/} ;; esac
    if ! [ -e "$ROOT$ldst" ]; then mkdir -p "$ROOT$(dirname "$ldst")"; cp -L "$lib" "$ROOT$ldst"; fi
  done
}

build_initrd() {
  local tmp kv src name dir l p a m
  tmp=$(mktemp -d "$CACHE/build.XXXXXX")
  ROOT=$tmp/root
  mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys,dev,tmp,run,etc,root,mnt,var/tmp,var/lib,var/log}
  ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"
  ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"; ln -s ../run "$ROOT/var/run"
  cp /bin/busybox "$ROOT/usr/bin/busybox"
  for kv in "${BINS[@]}"; do
    src=${kv%%=*}; name=${kv#*=}
    dir=bin; case "$src" in */sbin/*) dir=sbin ;; esac
    copy_with_libs "$src" "/usr/$dir/$name"
  done
  # the watchdog's sleep under its own name, so that `pkill sleep` in a test
  # leaves it alone (coreutils sleep does not care about its name)
  copy_with_libs "$(readlink -f "$(command -v sleep)")" /usr/libexec/vm-watchdog
  [ -e "$ROOT/usr/bin/mawk" ] && ln -s mawk "$ROOT/usr/bin/awk"
  ldconfig -p > "$tmp/ldcache"
  for l in "${EXTRA_LIBS[@]}"; do
    p=$(awk -v l="$l" '$1 == l && /x86-64/ && p == "" {p = $NF} END {print p}' "$tmp/ldcache")
    if [ -n "$p" ] && ! [ -e "$ROOT/usr/lib/x86_64-linux-gnu/$l" ]; then
      cp -L "$p" "$ROOT/usr/lib/x86_64-linux-gnu/$l"
    fi
  done
  # /bin/sh = dash: Debian's busybox ash runs its own applets before $PATH,
  # so `ip netns` in a busybox-sh script would get busybox's ip (no netns)
  ln -s dash "$ROOT/usr/bin/sh"
  for a in $(/bin/busybox --list-full); do
    name=${a##*/}
    [ -e "$ROOT/usr/bin/$name" ] || [ -e "$ROOT/usr/sbin/$name" ] ||
      ln -s /usr/bin/busybox "$ROOT/usr/${a#usr/}"
  done
  # kernel modules: resolve dependencies against the full tree, copy, depmod
  local mroot=$tmp/kernel mdir=lib/modules/$KVER
  mkdir -p "$mroot"
  dpkg-deb --fsys-tarfile "$KDIR/kernel.deb" | tar -x -C "$mroot" "./$mdir"
  depmod -b "$mroot" "$KVER"
  mkdir -p "$ROOT/usr/$mdir"
  for m in "${MODULES[@]}"; do
    modprobe -d "$mroot" -S "$KVER" --show-depends "$m" 2>/dev/null ||
      echo "vm: warning: $KPKG has no module $m" >&2
  done | awk '$1 == "insmod" {print $2}' | sort -u | while read -r p; do
    mkdir -p "$ROOT/usr/$(dirname "${p#"$mroot"/}")"
    cp "$p" "$ROOT/usr/${p#"$mroot"/}"
  done
  for l in modules.order modules.builtin modules.builtin.modinfo; do
    if [ -e "$mroot/$mdir/$l" ]; then cp "$mroot/$mdir/$l" "$ROOT/usr/$mdir/"; fi
  done
  depmod -b "$ROOT/usr" "$KVER"
  printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:104:110::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$ROOT/etc/passwd"
  printf 'root:x:0:\ntcpdump:x:110:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n' > "$ROOT/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
  for l in services protocols ethertypes; do
    if [ -f "/etc/$l" ]; then cp "/etc/$l" "$ROOT/etc/$l"; fi
  done
  : > "$ROOT/etc/fstab"
  cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# ttyS0: kernel console; ttyS1: command output (host stdout); ttyS2: exit status
export PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb LANG=C.UTF-8
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts; mount -t tmpfs shm /dev/shm
mount -t mqueue mqueue /dev/mqueue 2>/dev/null
mount -t tmpfs -o mode=1777 tmp /tmp; mount -t tmpfs -o mode=755 run /run
mkdir -p /run/netns /run/lock
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
hostname lvs-vm; ip link set lo up
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null
modprobe ip_vs || echo "vm: modprobe ip_vs failed" > /dev/ttyS1
modprobe virtio_pci; modprobe 9pnet_virtio; modprobe 9p
i=0
while read -r dir; do
  mkdir -p "$dir"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,access=any "share$i" "$dir" ||
    echo "vm: mounting $dir failed" > /dev/ttyS1
  i=$((i + 1))
done < /vm/shares
# shortly before the host's timeout, list the guest's processes and their
# kernel stacks on the console: the host prints that when it times out
if [ -s /vm/watchdog ]; then
  (
    /usr/libexec/vm-watchdog "$(cat /vm/watchdog)"
    {
      echo "vm: watchdog: guest processes shortly before the timeout"
      for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' < "$p/cmdline")
        [ -n "$cmd" ] || continue   # kernel threads
        echo "pid ${p#/proc/}: $cmd"
        for t in "$p"/task/[0-9]*; do
          echo "  task ${t##*/} ($(cat "$t/comm")) $(grep '^State:' "$t/status") in $(cat "$t/wchan")"
          sed 's/^/    /' "$t/stack"
        done
      done 2>/dev/null
    } > /dev/ttyS0 2>&1
  ) < /dev/null > /dev/null 2>&1 &
fi
cd "$(cat /vm/cwd)" || cd /
/bin/sh /vm/cmd </dev/null >/dev/ttyS1 2>&1
rc=$?
# stty uses tcsetattr(TCSADRAIN): returns once the UART has sent everything
stty -F /dev/ttyS1 raw -echo
echo "$rc" > /dev/ttyS2; stty -F /dev/ttyS2 raw -echo
sync
# with -no-reboot qemu exits on the reboot (works with and without ACPI)
reboot -f
EOF
  chmod 755 "$ROOT/init"
  # uncompressed on purpose: decompressing in TCG costs more than the copy
  ( cd "$ROOT" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null ) > "$tmp/initrd"
  mv "$tmp/initrd" "$INITRD"
  rm -rf "$tmp"
}
if [ "$REBUILD" = 1 ] || ! [ -f "$INITRD" ]; then
  echo "vm: building the initramfs for $KVER" >&2
  rm -f "$KDIR"/initramfs-*.cpio
  rm -rf "$CACHE"/build.*
  build_initrd
fi
if [ "$BUILD_ONLY" = 1 ]; then
  printf 'kernel: %s\ninitramfs: %s\n' "$KERNEL" "$INITRD"
  exit 0
fi

# ------------------------------------------------------------ this run
mkdir -p "$CACHE/run"
# scratch dirs of runs that were killed without cleaning up
for d in "$CACHE"/run/*/; do
  if [ -f "$d/pid" ] && ! kill -0 "$(cat "$d/pid")" 2>/dev/null; then rm -rf "$d"; fi
done
RUN=$(mktemp -d "$CACHE/run/XXXXXX")
echo "$$" > "$RUN/pid"
QPID=
# shellcheck disable=SC2317  # called through the trap
cleanup() {
  if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; fi
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# our own link to the kernel: a rebuild by a parallel run cannot pull it away
ln "$KERNEL" "$RUN/kernel" 2>/dev/null || cp "$KERNEL" "$RUN/kernel"

# shares: the repository, the --share dirs, and the directory of COMMAND if it
# is a file outside them (e.g. a test binary under an outside CARGO_TARGET_DIR)
here=$(pwd -P)
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || true)
[ -n "$repo" ] || repo=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || true)
[ -n "$repo" ] || repo=$(cd "$HERE/../.." && pwd -P)
extra=("${SHARES[@]}"); SHARES=()
add_share "$repo"
for d in "${extra[@]}"; do add_share "$d"; done
case "$1" in */*) if [ -f "$1" ]; then add_share "$(dirname "$1")"; fi ;; esac

gcwd=
for s in "${SHARES[@]}"; do
  case "$here/" in "$s"/*) gcwd=$here; break ;; esac
done
if [ -z "$gcwd" ]; then
  echo "vm: note: $here is not shared with the guest; running in $repo" >&2
  gcwd=$repo
fi

mkdir -p "$RUN/x/vm"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quote for /bin/sh
{
  while IFS= read -r -d '' kv; do
    n=${kv%%=*}
    case "$n" in
      RUST_*|CARGO_*|LVS_*) if valid_name "$n"; then printf 'export %s=%s\n' "$n" "$(q "${kv#*=}")"; fi ;;
    esac
  done < <(env -0)
  for kv in "${ENVS[@]}"; do printf 'export %s=%s\n' "${kv%%=*}" "$(q "${kv#*=}")"; done
  printf 'exec'
  for a in "$@"; do printf ' %s' "$(q "$a")"; done
  echo
} > "$RUN/x/vm/cmd"
printf '%s\n' "$gcwd" > "$RUN/x/vm/cwd"
# (the guest starts counting ~5 s after qemu, once booted)
if [ "$TIMEOUT" -ge 60 ]; then echo $((TIMEOUT - 20)) > "$RUN/x/vm/watchdog"; fi
printf '%s\n' "${SHARES[@]}" > "$RUN/x/vm/shares"
( cd "$RUN/x" && find . | /bin/busybox cpio -o -H newc 2>/dev/null ) > "$RUN/run.cpio"
cat "$INITRD" "$RUN/run.cpio" > "$RUN/initrd"   # the kernel unpacks both, in order
flock -u 9; exec 9>&-

# ------------------------------------------------------------ qemu
if [ "$ACCEL" = auto ]; then
  ACCEL=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then ACCEL=kvm; fi
fi
CPU=${IPVS_VM_CPU:-max}; if [ "$ACCEL" = kvm ] && [ -z "${IPVS_VM_CPU:-}" ]; then CPU=host; fi
# Kernel command line: panic=-1 + -no-reboot turn a panic into a qemu exit;
# the rest saves boot time under TCG (zeroing every allocation, crypto self
# tests, the KDF108 self test (~0.5-0.9 s), kprobe trace setup).
# shellcheck disable=SC2054  # the commas belong to qemu's option syntax
args=(-nodefaults -no-user-config -machine pc,accel="$ACCEL" -cpu "$CPU"
      -smp "$SMP" -m "$MEM" -display none -monitor none -no-reboot
      -kernel "$RUN/kernel" -initrd "$RUN/initrd"
      -append "console=ttyS0 quiet panic=-1 rdinit=/init init_on_alloc=0 cryptomgr.notests initcall_blacklist=crypto_kdf108_init,init_kprobe_trace ${IPVS_VM_APPEND:-}"
      -serial "file:$RUN/console.log" -serial stdio -serial "file:$RUN/rc")
i=0
for s in "${SHARES[@]}"; do
  args+=(-virtfs "local,path=${s//,/,,},mount_tag=share$i,security_model=none,id=share$i")
  i=$((i + 1))
done
log "accel=$ACCEL smp=$SMP mem=$MEM kernel=$KVER shares=${SHARES[*]} cwd=$gcwd"
rc=0
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${args[@]}" </dev/null &
QPID=$!
wait "$QPID" || rc=$?
QPID=
if [ "$VERBOSE" = 1 ]; then
  echo "----- guest console -----" >&2
  cat "$RUN/console.log" >&2
fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "vm: timeout after ${TIMEOUT}s; console tail:" >&2
  wl=$(grep -n -m 1 '^vm: watchdog:' "$RUN/console.log" | cut -d: -f1 || true)
  if [ -n "$wl" ]; then
    head -n $((wl - 1)) "$RUN/console.log" | tail -n 15 >&2
    tail -n +"$wl" "$RUN/console.log" | head -n 400 >&2
  else
    tail -n 20 "$RUN/console.log" >&2
  fi
  exit 124
fi
grc=$(tr -dc '0-9' < "$RUN/rc" 2>/dev/null || true)
if [ -z "$grc" ]; then
  echo "vm: the guest gave no exit status (qemu rc=$rc); console tail:" >&2
  # from the first oops/panic line if there is one, else the last lines
  pl=$(grep -n -m 1 -E 'Kernel panic|BUG:|Oops|general protection fault|WARNING:' "$RUN/console.log" | cut -d: -f1 || true)
  if [ -n "$pl" ] && [ "$(wc -l < "$RUN/console.log")" -gt $((pl + 40)) ]; then
    tail -n +$((pl > 5 ? pl - 5 : 1)) "$RUN/console.log" | head -n 80 >&2
    echo "[...]" >&2
    tail -n 10 "$RUN/console.log" >&2
  else
    tail -n 40 "$RUN/console.log" >&2
  fi
  exit 125
fi
exit "$grc"
