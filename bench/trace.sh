#!/usr/bin/env bash
# Tracing overhead, measured side by side in one run: untraced, `clonekit trace`, and
# `strace -f --seccomp-bpf -e trace=process`, on the two workloads of issue 4:
#   fork-heavy:   sh -c 'for i in $(seq 2000); do /bin/true; done'
#   thread-heavy: a C program creating and joining 20,000 pthreads (built here with gcc)
# Each configuration runs RUNS times (default 5), interleaved; the median wall time is
# reported with its ratio to the untraced median. Trace output goes to /dev/null.
# Usage: bench/trace.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

cargo build --release -q -p clonekit
ck=$PWD/target/release/clonekit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

have_strace=1
command -v strace >/dev/null 2>&1 || { have_strace=0; echo "strace: not installed, its rows are skipped"; }
have_cc=1
command -v gcc >/dev/null 2>&1 || { have_cc=0; echo "thread-heavy: skipped (no C compiler: gcc)"; }
if [ $have_cc = 1 ]; then
    gcc -O2 -pthread -o "$work/threads" crates/clonekit-trace/tests/workloads/pthreads.c
fi

# Wall time of one run in seconds (bash's $EPOCHREALTIME, microseconds).
time_one() {
    local t0 t1
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t1=$EPOCHREALTIME
    echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bench() {
    local name=$1; shift
    local -a work_cmd=("$@")
    local -a configs=(untraced clonekit)
    [ $have_strace = 1 ] && configs+=(strace)
    declare -A times
    for ((r = 0; r < runs; r++)); do
        for c in "${configs[@]}"; do
            case $c in
                untraced) t=$(time_one "${work_cmd[@]}") ;;
                clonekit) t=$(time_one "$ck" trace -o /dev/null -- "${work_cmd[@]}") ;;
                strace) t=$(time_one strace -f --seccomp-bpf -e trace=process -o /dev/null "${work_cmd[@]}") ;;
            esac
            times[$c]+="$t "
        done
    done
    local base
    base=$(echo "${times[untraced]}" | tr ' ' '\n' | grep . | median)
    printf '%s (%d runs each, median wall time)\n' "$name" "$runs"
    local ckm stm=""
    for c in "${configs[@]}"; do
        local m
        m=$(echo "${times[$c]}" | tr ' ' '\n' | grep . | median)
        [ $c = clonekit ] && ckm=$m
        [ $c = strace ] && stm=$m
        local label=$c
        [ $c = clonekit ] && label="clonekit trace"
        [ $c = strace ] && label="strace -f --seccomp-bpf -e trace=process"
        printf '  %-42s %8.3f s  %5.2fx untraced   runs: %s\n' "$label" "$m" "$(echo "$m $base" | awk '{ print $1 / $2 }')" "${times[$c]}"
    done
    if [ -n "$stm" ]; then
        printf '  strace / clonekit trace: %.2fx\n' "$(echo "$stm $ckm" | awk '{ print $1 / $2 }')"
    fi
}

echo "machine: $(nproc) CPUs, Linux $(uname -r), $(strace -V 2>/dev/null | head -1 || echo 'no strace')"
bench "fork-heavy: sh -c 'for i in \$(seq 2000); do /bin/true; done'" sh -c 'for i in $(seq 2000); do /bin/true; done'
if [ $have_cc = 1 ]; then
    bench "thread-heavy: 20,000 pthread_create + pthread_join" "$work/threads" 20000
fi
