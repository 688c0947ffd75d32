# The table's rows: sourced by lib.sh and by benchmarks/run.

# row FIGURE OURS YARDSTICK-NAME YARDSTICK UNIT RATIO GOAL: one line of benchmarks/run's table,
# our figure beside the yardstick's from the same run. RATIO is `ours/theirs` (a time against a
# floor: "1.2x the floor"; a throughput against a tool's) or `theirs/ours` (a time against the
# tool we replace: "15x faster"). GOAL is the target for the ratio ("<= 1.1", ">= 30"), or for our
# figure alone ("max 8"), or "-". Printed, and appended to $BENCH_TABLE when benchmarks/run
# collects the rows.
row() {
  local line
  line=$(awk -v figure="$1" -v ours="$2" -v name="$3" -v theirs="$4" -v unit="$5" -v ratio_kind="$6" -v goal="$7" 'BEGIN {
    ratio = (theirs == "" || ours == "" || ours + 0 == 0 || theirs + 0 == 0) ? "" : (ratio_kind == "theirs/ours" ? theirs / ours : ours / theirs)
    met = ""
    if (ratio != "" && goal ~ /^<= /) met = (ratio <= substr(goal, 4) + 0) ? "met" : "NOT MET"
    if (ratio != "" && goal ~ /^>= /) met = (ratio >= substr(goal, 4) + 0) ? "met" : "NOT MET"
    if (goal ~ /^max /) met = (ours <= substr(goal, 5) + 0) ? "met" : "NOT MET"
    printf "%s\t%s %s\t%s\t%s\t%s\t%s\t%s", figure, ours, unit, name, (theirs == "" ? "-" : theirs " " unit),
      (ratio == "" ? "-" : sprintf("%.2fx", ratio)), goal, met }')
  printf '  row: %s\n' "$line" | tr '\t' '|'
  if [ -n "${BENCH_TABLE:-}" ]; then printf '%s\n' "$line" >> "$BENCH_TABLE"; fi
}
