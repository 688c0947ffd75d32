#!/usr/bin/env bash
# Measures the installable binary: its stripped size, that it needs no Swift runtime on the
# host, and how fast a tool starts (`xen-cmdline --help`, through its symlink).
#
#   benchmarks/size-and-startup.sh [RUNS]      (default 200 runs)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=${1:-200}

size=$(stat -c %s "$dom0kit")
awk -v s="$size" 'BEGIN { printf "stripped size: %d bytes (%.1f MiB; goal <= 64 MiB)\n", s, s / 1048576 }'
if ldd "$dom0kit" | grep -Eq 'libswift|libFoundation|libdispatch|libBlocksRuntime'; then
  echo "FAIL: the binary needs the Swift runtime:" >&2
  ldd "$dom0kit" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime' >&2
  exit 1
fi
echo "shared libraries: $(ldd "$dom0kit" | awk '{print $1}' | grep -v -e vdso -e ld-linux | tr '\n' ' ')"
measure "xen-cmdline --help" "$runs" "$(tool xen-cmdline)" --help
row "stripped binary size" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')" "" "" MiB ours/theirs "max 64"
