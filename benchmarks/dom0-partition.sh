#!/usr/bin/env bash
# dom0-partition plan + apply of the xs8 layout on a fresh 64 GiB sparse image, against a bare
# sfdisk run of the same script on another fresh image. Target: ratio of wall times <= 1.2.
#
#   benchmarks/dom0-partition.sh [RUNS]      (default 30 runs)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=${1:-30}
dom0_partition=$(tool dom0-partition)
image="$work/disk.img"
fresh() { rm -f "$image"; truncate -s 64G "$image"; }

fresh
"$dom0_partition" plan --disk "$image" --firmware uefi --json \
  | awk '/"input" :/ { sub(/^ *"input" : "/, ""); sub(/",?$/, ""); gsub(/\\n/, "\n"); printf "%s", $0 }' \
  | sed "s#$image#$work/bare.img#g" > "$work/script"
grep -q '^label: gpt' "$work/script" || { echo "could not extract the sfdisk script" >&2; exit 1; }

# Each timed run starts from a blank image; making it is outside the timing.
apply_once() { fresh; start=$(date +%s%N); "$dom0_partition" apply --disk "$image" --firmware uefi --yes >/dev/null; end=$(date +%s%N); echo $(( (end - start) / 1000 )); }
bare_once() { rm -f "$work/bare.img"; truncate -s 64G "$work/bare.img"; start=$(date +%s%N); sfdisk --quiet --no-reread --no-tell-kernel --wipe always --wipe-partitions always "$work/bare.img" < "$work/script" >/dev/null; end=$(date +%s%N); echo $(( (end - start) / 1000 )); }

apply_once >/dev/null; bare_once >/dev/null  # warm up
ours=0; bare=0
for _ in $(seq "$runs"); do
  ours=$(( ours + $(apply_once) ))
  bare=$(( bare + $(bare_once) ))
done
awk -v o="$ours" -v b="$bare" -v n="$runs" 'BEGIN {
  printf "dom0-partition plan+apply: mean %.2f ms; bare sfdisk: mean %.2f ms; ratio %.2f (target <= 1.2)\n", o / n / 1000, b / n / 1000, o / b }'
row "dom0-partition plan+apply (xs8, 64 GiB image)" "$(awk -v o="$ours" -v n="$runs" 'BEGIN { printf "%.2f", o / n / 1000 }')" \
  "bare sfdisk" "$(awk -v b="$bare" -v n="$runs" 'BEGIN { printf "%.2f", b / n / 1000 }')" ms ours/theirs "<= 1.2"
