#!/usr/bin/env bash
# The kernel matrix's table, from the JSON documents of `clonekit check --json`, one per
# kernel (each with the "matrix" object run.sh adds, or without: then labelled by its
# "kernel"): one row per case, one column per kernel, each cell `=`, `≠` or `skip`, the
# reasons below, and the wall times. Pure: reads files, prints; runs without qemu.
#
#   matrix/table.sh [--total SECONDS] [--json MERGED] [--differences] KERNEL.json...
#
# --json writes the merged document; --differences prints only the rows that are not `=`
# everywhere. Exit 0 if every kernel ran and every cell is `=` or `skip`, 1 otherwise, 2 on
# bad input.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
total=null
merged=""
only_diff=false
while [ $# -gt 0 ]; do
    case "$1" in
        --total) total="${2:?--total needs seconds}"; shift 2 ;;
        --json) merged="${2:?--json needs a file}"; shift 2 ;;
        --differences) only_diff=true; shift ;;
        -*) echo "table: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n '7,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
command -v jq >/dev/null 2>&1 || { echo "table: jq is missing (apt-get install jq)" >&2; exit 2; }

doc="$(jq -s --argjson total "$total" -f "$here/merge.jq" "$@")" || exit 2
if [ -n "$merged" ]; then
    printf '%s\n' "$doc" >"$merged"
fi
printf '%s\n' "$doc" | jq -r --argjson only_diff "$only_diff" -f "$here/render.jq"
printf '%s\n' "$doc" | jq -e '([.cases[].cells[] | select(.cell == "≠")] | length == 0) and all(.kernels[]; .status == "ok")' >/dev/null
