# The matrix as text: the table (case × kernel), a count and the wall time per kernel, the
# kernels that gave no results, and the reasons of every cell that is `≠`, `-` or `skip`.
# Input: merge.jq's document.
def trim: sub(" +$"; "");
def pad($w): tostring | if length >= $w then . else . + (" " * ($w - length)) end;
def cut($w): if length > $w then .[0:$w - 1] + "…" else . end;
def name: "\(.group) \(.case)";
def reason: if .cell == "≠" and .expected == "model = kernel, expectations met" then .observed
  elif .cell == "≠" then "\(.observed) (expected: \(.expected))"
  else .reason // "" end;
def secs: if . == null then "-" else "\(. * 10 | round / 10)s" end;
. as $m
| ($m.kernels | map(.label)) as $labels
| ([$m.cases[] | name | cut(70) | length] + [4] | max) as $wc
| ($labels | map([length, 5] | max)) as $wk
| [$m.cases[] | select(($only_diff | not) or any(.cells[]; .cell != "="))] as $rows
| (("case" | pad($wc)) + "  " + ([range(0; $labels | length) as $i | $labels[$i] | pad($wk[$i])] | join("  ")) | trim),
  ($rows[] | (name | cut(70) | pad($wc)) + "  "
     + ([range(0; .cells | length) as $i | .cells[$i].cell | pad($wk[$i])] | join("  ")) | trim),
  "",
  ([range(0; $labels | length) as $i
     | [$m.cases[].cells[$i].cell] as $c
     | "\($labels[$i]): \($c | map(select(. == "=")) | length) =, \($c | map(select(. == "≠")) | length) ≠, \($c | map(select(. == "skip")) | length) skip"
       + (if $m.kernels[$i].status != "ok" then " (\($m.kernels[$i].status))" else "" end)
       + ", \($m.kernels[$i].wall_s | secs)"] | .[]),
  "all: \($m.total_wall_s | secs)",
  ([$m.kernels[] | select(.status != "ok")] as $bad | select($bad | length > 0)
   | "", "kernels without results:",
     ($bad[] | "  \(.label): " + (if .status == "timeout" then "timed out after \(.wall_s | secs): the check did not finish in time"
       else "\(.status) after \(.wall_s | secs): the check did not run to its end (see its log)" end))),
  (["≠", "-", "skip"][] as $kind
   | [$m.cases[] | select(any(.cells[]; .cell == $kind))] as $these
   | select($these | length > 0)
   | "",
     ({"≠": "differences", "-": "not run", "skip": "skipped"}[$kind] + ":"),
     ($these[]
      | . as $case
      | [range(0; .cells | length) as $i | select(.cells[$i].cell == $kind) | {label: $labels[$i], why: (.cells[$i] | reason)}] as $why
      | "  " + ($case | name) + ": "
        + (if ($labels | length) > 1 and ($why | length) == ($labels | length) and ($why | map(.why) | unique | length) == 1
           then "on every kernel: " + $why[0].why
           else ($why | group_by(.why) | sort_by(-length) | map("\(map(.label) | join(", ")): \(.[0].why)") | join("; ")) end)))
