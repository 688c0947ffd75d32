#!/usr/bin/env bash
# Measures the installable binary: its stripped size, that it needs no Swift runtime on the
# host, and how fast and small a tool starts (`xen-cmdline --help`, through its symlink).
#
#   benchmarks/size-and-startup.sh [RUNS]      (default 200 runs)
#
# Release build, static Swift standard library, as installer/install.sh builds it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-200}
installer/deps.sh

swift build -c release --static-swift-stdlib --product dom0kit >&2
binary="$(swift build -c release --static-swift-stdlib --product dom0kit --show-bin-path)/dom0kit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/dom0kit"
strip "$work/dom0kit"
ln -s dom0kit "$work/xen-cmdline"

size=$(stat -c %s "$work/dom0kit")
awk -v s="$size" 'BEGIN { printf "stripped size: %d bytes (%.1f MiB; goal <= 64 MiB)\n", s, s / 1048576 }'

if ldd "$work/dom0kit" | grep -Eq 'libswift|libFoundation|libdispatch|libBlocksRuntime'; then
  echo "FAIL: the binary needs the Swift runtime:" >&2
  ldd "$work/dom0kit" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' >&2
  exit 1
fi
echo "shared libraries: $(ldd "$work/dom0kit" | awk '{print $1}' | grep -v -e vdso -e ld-linux | tr '\n' ' ')"

"$work/xen-cmdline" --help >/dev/null  # warm the page cache
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$work/xen-cmdline" --help >/dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( runs / 2 ))]}
p95=${sorted[$(( runs * 95 / 100 ))]}
total=0
for t in "${times[@]}"; do total=$(( total + t )); done
awk -v n="$runs" -v t="$total" -v m="$median" -v p="$p95" 'BEGIN {
  printf "xen-cmdline --help over %d runs: mean %.2f ms, median %.2f ms, p95 %.2f ms\n", n, t / n / 1000, m / 1000, p / 1000 }'
rss=$(/usr/bin/time -f %M "$work/xen-cmdline" --help 2>&1 >/dev/null | tail -1)
echo "xen-cmdline --help peak RSS: ${rss} KiB"
