# Shared by the benchmark scripts: the release binary as installed, and timing of repeated runs.
# Source it; it sets $work (removed on exit) and $dom0kit (a stripped copy of the release binary).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source benchmarks/row.sh
script/deps.sh

swift build -c release --static-swift-stdlib --product dom0kit >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dom0kit="$work/dom0kit"
cp "$(swift build -c release --static-swift-stdlib --product dom0kit --show-bin-path)/dom0kit" "$dom0kit"
strip "$dom0kit"

# tool NAME: a symlink named after the tool, as the installer makes them.
tool() {
  ln -sf dom0kit "$work/$1"
  echo "$work/$1"
}

# measure LABEL RUNS COMMAND...: wall time (mean, median, p95) over RUNS runs, and the peak RSS
# of three more runs; sets MEAN_MS and PEAK_MIB. COMMAND may be a shell function (timed in this
# shell, no extra process); then RSS_COMMAND names the plain command whose RSS is reported.
measure() {
  local label=$1 runs=$2
  shift 2
  "$@" >/dev/null 2>&1 || true  # warm the page cache
  local times=() start end peak=0 rss
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true  # timed whatever it concludes (health exits 1 on a FAIL)
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  local rss_command=("$@")
  [ "$(type -t "$1")" = function ] && read -r -a rss_command <<< "$RSS_COMMAND"
  for _ in 1 2 3; do
    rss=$(/usr/bin/time -f %M "${rss_command[@]}" 2>&1 >/dev/null | tail -1) || true
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  MEAN_MS=$(printf '%s\n' "${times[@]}" | awk '{ total += $1 } END { printf "%.2f", total / NR / 1000 }')
  PEAK_MIB=$(awk -v p="$peak" 'BEGIN { printf "%.1f", p / 1024 }')
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v peak="$peak" '
    { t[NR] = $1; total += $1 }
    END { printf "%s: %d runs, mean %.2f ms, median %.2f ms, p95 %.2f ms, peak RSS %.1f MiB\n",
          label, NR, total / NR / 1000, t[int(NR / 2) + 1] / 1000, t[int(NR * 0.95)] / 1000, peak / 1024 }'
}

