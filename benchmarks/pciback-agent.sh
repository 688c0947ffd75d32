#!/usr/bin/env bash
# pciback-agent's targets, measured on the release build:
#
#  1. a storm of VFS new VFs (default 1024), bound in one reconcile pass on the fake kernel, in
#     process: the agent's overhead is the pass's time minus the time the fake kernel spends
#     reacting to writes (target <= 100 ms). The tree is on tmpfs, an in-memory file system as
#     sysfs is.
#  2. the daemon itself under umockdev receiving the storm as real udev add events: time from
#     the first event to all bound (an upper bound: it includes this script's Python playing the
#     kernel), the agent's own CPU time in the storm, its RSS afterwards (target <= 10 MiB), and
#     its CPU time over 2 idle seconds (target about 0).
#  3. health on a fake host of 4,096 functions in 256 IOMMU groups (target <= 50 ms): in
#     process under --root, in process on / with the tree mounted over /sys in a private mount
#     namespace (the production path), and the whole `pciback-agent health --root` command. Both
#     roots walk every link in user space: one resolution rule, so nothing leads out of a root
#     and /sys/class/net/IF/device means the same on / as in a tree.
#
#   benchmarks/pciback-agent.sh [VFS]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
vfs=${1:-1024}
swift build -c release --static-swift-stdlib --product dom0kit-bench >&2
bench="$(swift build -c release --static-swift-stdlib --product dom0kit-bench --show-bin-path)/dom0kit-bench"
tree=$(mktemp -d /dev/shm/dom0kit-bench.XXXXXX)
trap 'rm -rf "$work" "$tree"' EXIT

echo "1. in process, $vfs new VFs:"
TMPDIR=/dev/shm "$bench" storm "$vfs" 2>/dev/null

echo "2. the daemon under umockdev, $vfs VF add events:"
STORM=$vfs umockdev-wrapper /usr/bin/python3 Tests/TestSupport/Fixtures/umockdev/agent-testbed.py "$(tool pciback-agent)" \
  | python3 -c 'import json, sys
f = json.load(sys.stdin)
print("   all bound %.2f s after the first add event (sending the events took %.2f s); the agent used %d ms of CPU in the storm"
      % (f["storm_seconds"], f["storm_adding_seconds"], f["storm_cpu_ms"]))
print("   RSS afterwards: peak %.1f MiB, of which private (anonymous) %.1f MiB and shared file pages %.1f MiB; idle CPU over 2 s: %d ticks"
      % (f["rss_kib"] / 1024, f["rss_anon_kib"] / 1024, f["rss_file_kib"] / 1024, f["idle_cpu_ticks"]))'

echo "3. health, 4096 functions in 256 IOMMU groups:"
"$bench" host "$tree" 4096 256 >/dev/null 2>&1
printf '   under --root: '; "$bench" health "$tree"
printf '   on / (tree mounted over /sys): '
unshare -m sh -c 'mount --bind "$1/sys" /sys && mount --bind "$1/etc" /etc && mount --bind "$1/proc/cmdline" /proc/cmdline && "$2" health /' \
  sh "$tree" "$bench"
measure "   pciback-agent health --root (the whole command)" 20 "$(tool pciback-agent)" health --root "$tree"
