#!/usr/bin/env bash
# Rebuilds trace.bpf.o from trace.bpf.c (clang with the BPF target, libbpf's headers from
# libbpf-dev). The object is committed: building clonekit needs neither. `--check` rebuilds
# into a temporary file and fails if it differs from the committed object.
set -euo pipefail
cd "$(dirname "$0")"
out=trace.bpf.o
if [ "${1:-}" = --check ]; then
    out=$(mktemp --suffix=.o)
    trap 'rm -f "$out"' EXIT
fi
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -D__TARGET_ARCH_x86 -ffile-prefix-map="$PWD"=. -c trace.bpf.c -o "$out"
# DWARF dropped, the BTF kept (the verifier wants the records of the functions passed to
# bpf_loop); the source is named relative to this folder
# (-ffile-prefix-map) so that the object is the same wherever it is built.
llvm-strip -g "$out"
if [ "${1:-}" = --check ]; then
    cmp "$out" trace.bpf.o || { echo "trace.bpf.o does not match trace.bpf.c: run $0" >&2; exit 1; }
    echo "trace.bpf.o matches trace.bpf.c"
fi
