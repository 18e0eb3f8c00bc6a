#!/usr/bin/env bash
# Tracing overhead, measured side by side in one run: untraced, `clonekit trace`, and
# `strace -f --seccomp-bpf -e trace=process`, on the two workloads of issue 4:
#   fork-heavy:   sh -c 'for i in $(seq 2000); do /bin/true; done'
#   thread-heavy: a C program creating and joining 20,000 pthreads (built here with gcc)
# Each configuration runs RUNS times (default 5), interleaved; the median wall time is
# reported with its ratio to the untraced median. Trace output goes to /dev/null.
# The machine may be shared: each run waits until the CPUs are idle, and a run during which
# other processes used the CPU (more than 5% of its wall time, from /proc/stat) is done again.
# Where /dev/cpu_dma_latency is writable, `clonekit trace --low-latency` is measured too, and
# the program untraced while the same CPU latency request is held.
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
# `--low-latency` needs write access to /dev/cpu_dma_latency (root). Its row is compared with
# the program run untraced while the same request is held, so that what the request does to
# the program itself shows.
have_lowlat=1
[ -w /dev/cpu_dma_latency ] || { have_lowlat=0; echo "clonekit trace --low-latency: /dev/cpu_dma_latency not writable, its rows are skipped"; }
# Runs "$@" while holding a CPU latency request of 0 µs (as `--low-latency` does).
latency_held() { ( exec 3>/dev/cpu_dma_latency && printf 0x00000000 >&3 && "$@" ); }
# `--backend ebpf` needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF.
have_ebpf=1
ebpf_why=$("$ck" trace --backend ebpf -qq -- true 2>&1 >/dev/null) || { have_ebpf=0; echo "clonekit trace --backend ebpf: ${ebpf_why#clonekit: }: its rows are skipped"; }
have_cc=1
command -v gcc >/dev/null 2>&1 || { have_cc=0; echo "thread-heavy: skipped (no C compiler: gcc)"; }
if [ $have_cc = 1 ]; then
    gcc -O2 -pthread -o "$work/threads" crates/clonekit-trace/tests/workloads/pthreads.c
fi

hz=$(getconf CLK_TCK)
# CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq; not steal).
busy() { awk -v hz="$hz" '/^cpu / { printf "%.3f\n", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
# CPU seconds used by the finished children of the calling shell: `times` must run in that
# shell (not in a $(...) subshell), so it writes to a file first.
children_cpu() {
    tail -1 "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] }; printf "%.3f\n", s }'
}
# Waits (at most 2 minutes) until less than 3% of a CPU was busy over 0.3 s.
wait_quiet() {
    local i b0 b1
    for ((i = 0; i < 400; i++)); do
        b0=$(busy); sleep 0.3; b1=$(busy)
        awk -v a="$b0" -v b="$b1" 'BEGIN { exit !(b - a < 0.03) }' && return
    done
}
# Wall time of one run in seconds (bash's $EPOCHREALTIME, microseconds), on a quiet machine.
time_one() {
    local t0 t1 b0 b1 c0 c1 try
    for ((try = 0; try < 6; try++)); do
        wait_quiet
        times >"$work/times"; c0=$(children_cpu "$work/times"); b0=$(busy)
        t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        t1=$EPOCHREALTIME
        b1=$(busy); times >"$work/times"; c1=$(children_cpu "$work/times")
        if awk -v t0="$t0" -v t1="$t1" -v b0="$b0" -v b1="$b1" -v c0="$c0" -v c1="$c1" \
            'BEGIN { exit !((b1 - b0) - (c1 - c0) <= 0.05 * (t1 - t0) + 0.03) }'; then
            break
        fi
        echo "retry" >>"$work/retries"
    done
    echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bench() {
    local name=$1; shift
    local -a work_cmd=("$@")
    local -a configs=(untraced clonekit)
    [ $have_ebpf = 1 ] && configs+=(ebpf)
    [ $have_lowlat = 1 ] && configs+=(lowlat untraced_held)
    [ $have_strace = 1 ] && configs+=(strace)
    declare -A times
    for ((r = 0; r < runs; r++)); do
        for c in "${configs[@]}"; do
            case $c in
                untraced) t=$(time_one "${work_cmd[@]}") ;;
                clonekit) t=$(time_one "$ck" trace -o /dev/null -- "${work_cmd[@]}") ;;
                ebpf) t=$(time_one "$ck" trace --backend ebpf -o /dev/null -- "${work_cmd[@]}") ;;
                lowlat) t=$(time_one "$ck" trace --low-latency -o /dev/null -- "${work_cmd[@]}") ;;
                untraced_held) t=$(time_one latency_held "${work_cmd[@]}") ;;
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
        [ $c = ebpf ] && label="clonekit trace --backend ebpf"
        [ $c = lowlat ] && label="clonekit trace --low-latency"
        [ $c = untraced_held ] && label="untraced, latency request held"
        [ $c = strace ] && label="strace -f --seccomp-bpf -e trace=process"
        printf '  %-42s %8.3f s  %5.2fx untraced   runs: %s\n' "$label" "$m" "$(echo "$m $base" | awk '{ print $1 / $2 }')" "${times[$c]}"
    done
    if [ -n "$stm" ]; then
        printf '  strace / clonekit trace: %.2fx\n' "$(echo "$stm $ckm" | awk '{ print $1 / $2 }')"
    fi
    if [ $have_ebpf = 1 ]; then
        # The same events from both backends: one JSON object per call, signal and death
        # (no line splitting to blur the count), and the eBPF backend's lost events.
        "$ck" trace --json -o "$work/ptrace.json" -- "${work_cmd[@]}" >/dev/null 2>&1
        "$ck" trace --backend ebpf --json -o "$work/ebpf.json" -- "${work_cmd[@]}" >/dev/null 2>&1
        local np ne lost
        np=$(grep -c '"event"' "$work/ptrace.json"); ne=$(grep -vc '"event":"lost"' "$work/ebpf.json")
        lost=$(grep -o '"event":"lost","count":[0-9]*' "$work/ebpf.json" | grep -o '[0-9]*$' || echo 0)
        printf '  events: ptrace %d, ebpf %d, ebpf lost %d\n' "$np" "$ne" "${lost:-0}"
    fi
}

# How an idle CPU waits decides what a ptrace stop costs: a CPU that halts at once must be
# woken by an interrupt each time a tracee is resumed; one that polls first is not.
idle=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo unknown)
if [ -r /sys/module/haltpoll/parameters/guest_halt_poll_ns ]; then
    idle="$idle, guest_halt_poll_ns=$(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns)"
fi
echo "machine: $(nproc) CPUs, Linux $(uname -r), cpuidle $idle, $(strace -V 2>/dev/null | head -1 || echo 'no strace')"
bench "fork-heavy: sh -c 'for i in \$(seq 2000); do /bin/true; done'" sh -c 'for i in $(seq 2000); do /bin/true; done'
if [ $have_cc = 1 ]; then
    bench "thread-heavy: 20,000 pthread_create + pthread_join" "$work/threads" 20000
fi
echo "runs done again because other processes used the CPU: $(cat "$work/retries" 2>/dev/null | wc -l)"
