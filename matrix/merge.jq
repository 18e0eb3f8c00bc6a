# The merged matrix: the kernels (label, source, release, status, wall time, check's
# summary) and every case once, in the order the kernels list them, with one cell per
# kernel. Input: the per-kernel documents, slurped; $total: the whole run's wall time.
def klabel: .matrix.label // .kernel // "?";
def cell($k; $c):
  if ($k.matrix.status // "ok") != "ok" then {cell: $k.matrix.status}
  elif $c == null then {cell: "-", reason: "not run on this kernel"}
  elif $c.status == "pass" then {cell: "="}
  elif $c.status == "skipped" then {cell: "skip", reason: $c.skip_reason}
  else {cell: "≠", expected: $c.expected, observed: $c.observed}
  end;
. as $docs
| ($docs | map(.cases | map({key: "\(.group) \(.case)", value: .}) | from_entries)) as $index
| ([$docs[].cases[] | {group, case}] | reduce .[] as $c ({seen: {}, list: []};
      "\($c.group) \($c.case)" as $key
      | if .seen[$key] then . else .seen[$key] = true | .list += [$c] end) | .list) as $cases
| {
    kernels: [$docs[] | {
      label: klabel, source: (.matrix.source // null), release: .kernel,
      status: (.matrix.status // "ok"), wall_s: (.matrix.wall_s // null),
      summary: (.summary // null), clone3_refused: (.clone3_refused // null)
    }],
    total_wall_s: $total,
    cases: [$cases[] as $c | "\($c.group) \($c.case)" as $key | $c + {
      cells: [range(0; $docs | length) as $i | cell($docs[$i]; $index[$i][$key])]
    }]
  }
