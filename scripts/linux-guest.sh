#!/usr/bin/env bash
# Makes the real third-party test guest: the stock Debian kernel and a busybox
# initramfs.
#
#   scripts/linux-guest.sh OUTDIR
#
# Fetches the kernel package that linux-image-amd64 depends on, and busybox-static,
# with `apt-get download` into build/cache/debs (kept across runs), unpacks them with
# `dpkg-deb -x` (nothing is installed), and writes into OUTDIR:
#
#   bzImage          the kernel as shipped (boot/vmlinuz-*)
#   initrd.cpio.gz   newc cpio: busybox, and /init from qemu-tests/linux/init
#   kernel-version   the kernel's release string, as `uname -r` prints it
#
# Does nothing when OUTDIR already holds the outputs of the same packages and
# scripts. Prints one line on success, and everything it ran on failure.
# BULKHEAD_DEB_CACHE overrides the cache directory.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BULKHEAD_DEB_CACHE:-$root/build/cache/debs}
init=$root/qemu-tests/linux/init
mkcpio=$root/qemu-tests/linux/mkcpio.py

log=$(mktemp)
work=""
cleanup() {
    rm -f "$log"
    if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
    echo "linux-guest: $*" >&2
    if [ -s "$log" ]; then
        echo "linux-guest: what ran:" >&2
        sed 's/^/  /' "$log" >&2
    fi
    exit 1
}

# Runs a command with its output in the log; the log is shown if anything fails.
run() {
    echo "\$ $*" >>"$log"
    "$@" >>"$log" 2>&1
}

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

apt_update() {
    run $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        fail "apt-get update failed"
}

# The package linux-image-amd64 depends on (linux-image-<abi>-amd64), and the
# candidate versions of it and busybox-static: sets kernel_pkg, kernel_ver, busybox_ver.
resolve() {
    kernel_pkg=$(apt-cache depends linux-image-amd64 2>>"$log" |
        awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }') || true
    kernel_ver=""
    busybox_ver=""
    if [ -n "$kernel_pkg" ]; then
        # One look-up for both: apt-cache reads all the lists each time.
        local versions
        versions=$(apt-cache policy "$kernel_pkg" busybox-static 2>>"$log" |
            awk '/^[^ ]/ { pkg = $1; sub(/:$/, "", pkg) }
                 $1 == "Candidate:" && $2 != "(none)" { print pkg, $2 }') || true
        kernel_ver=$(awk -v p="$kernel_pkg" '$1 == p { print $2 }' <<<"$versions")
        busybox_ver=$(awk '$1 == "busybox-static" { print $2 }' <<<"$versions")
    fi
    [ -n "$kernel_pkg" ] && [ -n "$kernel_ver" ] && [ -n "$busybox_ver" ]
}

# The cached .deb of package $1 at version $2, if there is one. apt-get download
# writes the epoch's colon as %3a.
cached_deb() {
    local file
    for file in "$cache/$1_${2//:/%3a}_"*.deb; do
        if [ -f "$file" ]; then
            echo "$file"
            return
        fi
    done
}

# Downloads package $1 at version $2 into the cache unless it is there, and drops
# other versions of it.
fetch() {
    local pkg=$1 ver=$2 file
    if [ -n "$(cached_deb "$pkg" "$ver")" ]; then return 0; fi
    echo "linux-guest: downloading $pkg $ver"
    (cd "$cache" && run apt-get download -q "$pkg=$ver") || return 1
    [ -n "$(cached_deb "$pkg" "$ver")" ] || return 1
    for file in "$cache/$pkg"_*.deb; do
        if [ "$file" != "$(cached_deb "$pkg" "$ver")" ]; then rm -f "$file"; fi
    done
}

fetch_all() {
    resolve && fetch "$kernel_pkg" "$kernel_ver" && fetch busybox-static "$busybox_ver"
}

command -v python3 >/dev/null || {
    echo "linux-guest: installing python3-minimal"
    run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-minimal ||
        fail "cannot install python3-minimal"
}

mkdir -p "$cache" "$out"
# A fresh machine has no package lists, and a stale list names versions the
# mirror no longer has: update once and try again.
if ! fetch_all; then
    apt_update
    fetch_all || fail "cannot resolve or download the kernel and busybox-static packages"
fi
# Kernel packages of an older ABI have other names; keep only the current one.
for file in "$cache"/linux-image-[0-9]*.deb; do
    if [ -f "$file" ] && [ "$file" != "$(cached_deb "$kernel_pkg" "$kernel_ver")" ]; then
        rm -f "$file"
    fi
done
kernel_deb=$(cached_deb "$kernel_pkg" "$kernel_ver")
busybox_deb=$(cached_deb busybox-static "$busybox_ver")

# What the outputs are made of: both packages and the scripts that shape them.
inputs=$(
    echo "$kernel_pkg $kernel_ver"
    echo "busybox-static $busybox_ver"
    sha256sum "$init" "$mkcpio" "${BASH_SOURCE[0]}" | awk '{ print $1 }'
)
stamp=$out/.inputs
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] &&
    [ -f "$out/bzImage" ] && [ -f "$out/initrd.cpio.gz" ] && [ -f "$out/kernel-version" ]; then
    echo "linux-guest: $out is up to date ($kernel_pkg $kernel_ver, busybox-static $busybox_ver)"
    exit 0
fi
rm -f "$stamp"

work=$(mktemp -d)
# A package that does not unpack is dropped from the cache, to be fetched anew.
unpack() {
    run dpkg-deb -x "$1" "$2" || {
        rm -f "$1"
        fail "cannot unpack $1 (removed from the cache; run again to download it anew)"
    }
}
unpack "$kernel_deb" "$work/kernel"
unpack "$busybox_deb" "$work/busybox"
vmlinuz=("$work"/kernel/boot/vmlinuz-*)
if [ ${#vmlinuz[@]} -ne 1 ] || [ ! -f "${vmlinuz[0]}" ]; then
    fail "$kernel_deb: expected one boot/vmlinuz-*, found: ${vmlinuz[*]}"
fi
busybox=$work/busybox/bin/busybox
[ -x "$busybox" ] || fail "$busybox_deb: no bin/busybox"
release=${vmlinuz[0]##*/vmlinuz-}

run python3 "$mkcpio" "$work/initrd.cpio.gz" "$busybox" "$init" ||
    fail "cannot write the initramfs"
cp "${vmlinuz[0]}" "$out/bzImage.tmp"
mv "$out/bzImage.tmp" "$out/bzImage"
mv "$work/initrd.cpio.gz" "$out/initrd.cpio.gz"
echo "$release" >"$out/kernel-version"
echo "$inputs" >"$stamp"

size() { du -h --apparent-size "$1" | cut -f1; }
echo "linux-guest: $out: Linux $release (bzImage $(size "$out/bzImage")," \
    "initrd $(size "$out/initrd.cpio.gz"), busybox-static $busybox_ver)"
