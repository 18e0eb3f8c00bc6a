#!/usr/bin/env bash
# The kernel matrix: `clonekit check --json` on several kernels, each booted under qemu (TCG)
# from a busybox initramfs holding the release clonekit, or on this machine's kernel
# (`host`), and one table of case × kernel (see docs/kernel-matrix.md).
#
#   matrix/run.sh [--timeout SECONDS] [--cpu MODEL] [--out DIR] [--clonekit PATH]
#                 [--only TEXT] KERNEL...
#
# KERNEL: a Debian package name (linux-image-6.1.0-57-amd64), a vmlinuz path, or `host`.
# --only TEXT: only the cases whose name contains TEXT (check's --only; no spaces).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/clonekit-matrix"
timeout_s=600
# The guest's CPU: qemu's `max`, with 5-level paging only if this machine has it. With it the
# user address space ends at 2^56 instead of 2^47 (TASK_SIZE_MAX), and the cases at that limit
# (rule T1, scenarios 23 and 31) answer for the CPU, not for the kernel version.
if grep -qw la57 /proc/cpuinfo; then cpu=max; else cpu=max,la57=off; fi
out=""
clonekit=""
only=""

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
        --timeout) timeout_s="${2:?--timeout needs seconds}"; shift 2 ;;
        --cpu) cpu="${2:?--cpu needs a qemu CPU model}"; shift 2 ;;
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        --clonekit) clonekit="${2:?--clonekit needs a path}"; shift 2 ;;
        --only) only="${2:?--only needs a text}"; shift 2 ;;
        -h | --help) usage ;;
        --) shift; break ;;
        -*) echo "matrix: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
out="${out:-$cache/last}"

# Messages go to the standard error the script was given, even from inside a redirection.
exec 3>&2
say() { echo "matrix: $*" >&3; }
die() { say "$*"; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Ctrl-C (or a TERM) stops everything: the guest being run, then this script.
guest=""
# shellcheck disable=SC2317 # called by the trap
stop() {
    trap - INT TERM
    if [ -n "$guest" ]; then
        kill -TERM "$guest" 2>/dev/null || true
        wait "$guest" 2>/dev/null || true
    fi
    say "interrupted"
    exit 130
}
trap stop INT TERM

need() {
    command -v "$1" >/dev/null 2>&1 && return
    say "$1 is missing: installing $2"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; then
        die "could not install $2 (needed for $1)"
    fi
}
need jq jq

start_all="$(now)"
mkdir -p "$cache/debs" "$cache/unpacked" "$out"
rm -f "$out"/kernel-*.json "$out"/raw-*.json "$out"/console-*.log "$out"/matrix.json "$out"/initrd.gz

# As root, apt downloads as root (its _apt user may not write to root's cache).
apt_opts=(-q)
if [ "$(id -u)" = 0 ]; then apt_opts+=(-o APT::Sandbox::User=root); fi

# A package apt's sources lack (a newer kernel, such as linux-image-6.16.12+deb13-amd64 of
# trixie-backports), looked up in the package index of Debian's other suites and downloaded
# from its pool.
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suites=(trixie-backports trixie bookworm-backports forky sid)
from_debian_suites() {
    local pkg="$1" suite file
    need curl curl
    need xz xz-utils
    for suite in "${suites[@]}"; do
        file="$(curl -fsS "$mirror/dists/$suite/main/binary-amd64/Packages.xz" | xz -dc \
            | awk -v p="Package: $pkg" '$0 == p { found = 1 } found && /^Filename: / { print $2; found = 0 }')" || continue
        [ -n "$file" ] || continue
        say "$pkg: from Debian $suite"
        curl -fsS -o "$cache/debs/$(basename "$file")" "$mirror/$file" && return 0
    done
    return 1
}

# A Debian package, downloaded once into the cache and unpacked: its directory.
unpack() {
    local pkg="$1" dir="$cache/unpacked/$1"
    if [ ! -d "$dir" ]; then
        local deb
        deb="$(find "$cache/debs" -name "${pkg}_*.deb" -print -quit)"
        if [ -z "$deb" ]; then
            (cd "$cache/debs" && apt-get "${apt_opts[@]}" download "$pkg" >&2 2>/dev/null) \
                || { apt-get update -qq && (cd "$cache/debs" && apt-get "${apt_opts[@]}" download "$pkg" >&2 2>/dev/null); } \
                || from_debian_suites "$pkg" \
                || die "$pkg: not found by apt-get nor in Debian's ${suites[*]}"
            deb="$(find "$cache/debs" -name "${pkg}_*.deb" -print -quit)"
        fi
        dpkg-deb -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# The release clonekit: the one given, or built from this repository.
if [ -z "$clonekit" ]; then
    say "building the release clonekit"
    (cd "$repo" && cargo build --release --quiet --bin clonekit) || die "cargo build failed"
    clonekit="$(cd "$repo" && realpath "${CARGO_TARGET_DIR:-target}")/release/clonekit"
fi
[ -x "$clonekit" ] || die "$clonekit is not an executable"

# The initramfs, built once per run: busybox, clonekit and its shared libraries, and an init
# that runs the check with its JSON on the second serial port.
initrd="$out/initrd.gz"
build_initrd() {
    local root="$out/initramfs" busybox
    need cpio cpio
    busybox="$(unpack busybox-static)/bin/busybox"
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root}
    cp "$busybox" "$root/bin/busybox"
    for applet in sh mount mkdir cat echo stty poweroff sleep uname date; do
        ln -s busybox "$root/bin/$applet"
    done
    # Without its debug information (40 MB less to pack and boot).
    strip -o "$root/bin/clonekit" "$clonekit" 2>/dev/null || cp "$clonekit" "$root/bin/clonekit"
    local lib
    for lib in $(ldd "$clonekit" | grep -o '/[^ ]*'); do
        cp -L --parents "$lib" "$root"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    cp "$here/init" "$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
}

# A kernel's vmlinuz: the path given, or the one its Debian package holds.
vmlinuz_of() {
    case "$1" in
        */* | *vmlinuz*) [ -r "$1" ] || die "$1: no such kernel image"; echo "$1" ;;
        *)
            local v
            v="$(find "$(unpack "$1")" \( -path '*/boot/vmlinuz-*' -o -path '*/lib/modules/*/vmlinuz' \) -print -quit)"
            # Debian's 7.x packages are split: linux-image-V depends on linux-binary-V, which
            # holds the image as usr/lib/modules/V/vmlinuz.
            if [ -z "$v" ] && [ "${1#linux-image-}" != "$1" ]; then
                v="$(find "$(unpack "linux-binary-${1#linux-image-}")" \( -path '*/boot/vmlinuz-*' -o -path '*/lib/modules/*/vmlinuz' \) -print -quit)"
            fi
            [ -n "$v" ] || die "$1 holds no boot/vmlinuz-*"
            echo "$v"
            ;;
    esac
}

# Runs a command in the background under `timeout`, as the guest the trap stops; its exit
# status (124 or 137 when the timeout ended it).
supervised() {
    local rc=0
    timeout --kill-after=10 "$timeout_s" nice -n 10 "$@" </dev/null &
    guest=$!
    wait "$guest" || rc=$?
    guest=""
    return "$rc"
}

# One kernel: its check's JSON in $out/kernel-N.json, with a "matrix" object (label, source,
# status ok|timeout|failed, wall seconds from boot to power-off, or of the check on the host)
# added.
run_one() {
    local n="$1" what="$2" json="$out/kernel-$1.json" raw="$out/raw-$1.json" log="$out/console-$1.log"
    local start status=ok rc=0 label
    if [ "$what" = host ]; then
        label="host $(uname -r)"
        say "host: clonekit check --json on $(uname -r), at most ${timeout_s}s"
        start="$(now)"
        supervised "$clonekit" check --json ${only:+--only "$only"} >"$raw" 2>"$log" || rc=$?
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status=timeout; fi
    else
        local vmlinuz
        vmlinuz="$(vmlinuz_of "$what")"
        [ -e "$initrd" ] || build_initrd
        need qemu-system-x86_64 qemu-system-x86
        label="$(basename "$vmlinuz" | sed 's/^vmlinuz-//')"
        [ "$label" != vmlinuz ] || label="$(basename "$(dirname "$vmlinuz")")"
        say "$label: booting under qemu (TCG, -cpu $cpu), at most ${timeout_s}s"
        rm -f "$raw"
        start="$(now)"
        supervised qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 2048 -smp 2 -nographic -no-reboot \
            -kernel "$vmlinuz" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1${only:+ clonekit.only=$only}" \
            -serial mon:stdio -serial "file:$raw" >"$log" 2>&1 || rc=$?
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            status=timeout
        elif ! grep -q '^clonekit-matrix: check exited' "$log"; then
            status=failed
        fi
    fi
    local wall
    wall="$(since "$start")"
    if [ "$status" = ok ] && ! tr -d '\r' <"$raw" | jq -e .cases >/dev/null 2>&1; then
        status=failed
    fi
    if [ "$status" = ok ]; then
        tr -d '\r' <"$raw" | jq --arg name "$label" --arg source "$what" --argjson wall "$wall" \
            '. + {matrix: {"label": $name, source: $source, status: "ok", wall_s: $wall}}' >"$json"
    else
        jq -n --arg name "$label" --arg source "$what" --arg status "$status" --argjson wall "$wall" \
            '{kernel: null, cases: [], matrix: {"label": $name, source: $source, status: $status, wall_s: $wall}}' >"$json"
        say "$label: $status after ${wall}s (log: $log)"
    fi
    say "$label: ${wall}s"
}

n=0
for k in "$@"; do
    n=$((n + 1))
    run_one "$n" "$k"
done

files=()
for i in $(seq 1 "$n"); do files+=("$out/kernel-$i.json"); done
rc=0
"$here/table.sh" --total "$(since "$start_all")" --json "$out/matrix.json" "${files[@]}" || rc=$?
say "merged JSON: $out/matrix.json"
exit "$rc"
