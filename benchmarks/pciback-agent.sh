#!/usr/bin/env bash
# pciback-agent's figures, measured on the release build:
#
#  1. a storm of VFS new VFs (default 1024), bound in one reconcile pass on the fake kernel, in
#     process: the agent's overhead is the pass's time minus the time the fake kernel spends
#     reacting to writes (target <= 100 ms). The tree is on tmpfs, an in-memory file system as
#     sysfs is.
#  2. the daemon itself under umockdev receiving the storm as real udev add events: time from
#     the first event to all bound (an upper bound: it includes this script's Python playing the
#     kernel), the agent's own CPU time in the storm, its RSS at its peak and at rest once the
#     storm is over (goal <= 8 MiB), and its CPU time over 2 idle seconds (target about 0).
#  3. health on a fake host of 4,096 functions in 256 IOMMU groups, beside the floor: a C loop
#     (benchmarks/yardsticks/pci-walk.c) reading the same files of every function with the kernel
#     following the links. In process under --root and on / with the tree mounted over /sys in a
#     private mount namespace (the production path), goal <= 1.1x the floor; and the whole
#     `pciback-agent health --root` command beside the floor run as a command, goal <= 1.5x.
#     Each function's directory is opened by the kernel's lookup kept beneath the root (openat2,
#     Linux 5.6). Both again as on a kernel without openat2 (XenServer 8's 4.19;
#     benchmarks/yardsticks/without-openat2.c answers it ENOSYS; the floor runs under the same
#     filter): / is then opened as it is, a tree walked link by link in user space.
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
STORM=$vfs umockdev-wrapper /usr/bin/python3 Tests/TestSupport/Fixtures/umockdev/agent-testbed.py "$(tool pciback-agent)" > "$work/storm.json"
read -r peak rest < <(/usr/bin/python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))
print("   all bound %.2f s after the first add event (sending the events took %.2f s); the agent used %d ms of CPU in the storm"
      % (f["storm_seconds"], f["storm_adding_seconds"], f["storm_cpu_ms"]), file=sys.stderr)
print("   RSS: peak %.1f MiB (private %.1f MiB, shared file pages %.1f MiB); at rest after the storm %.1f MiB (file pages %.1f MiB); idle CPU over 2 s: %d ticks"
      % (f["rss_kib"] / 1024, f["rss_anon_kib"] / 1024, f["rss_file_kib"] / 1024, f["rss_at_rest_kib"] / 1024,
         f["rss_at_rest_file_kib"] / 1024, f["idle_cpu_ticks"]), file=sys.stderr)
print("%.1f %.1f" % (f["rss_kib"] / 1024, f["rss_at_rest_kib"] / 1024))' "$work/storm.json")
row "pciback-agent RSS at rest after a $vfs-event storm" "$rest" "" "" MiB ours/theirs "max 8"
row "pciback-agent RSS, peak in the storm" "$peak" "" "" MiB ours/theirs "-"

echo "3. health, 4096 functions in 256 IOMMU groups:"
"$bench" host "$tree" 4096 256 >/dev/null 2>&1
floor="$work/pci-walk" without="$work/without-openat2"
cc -O2 -o "$floor" benchmarks/yardsticks/pci-walk.c
cc -O2 -o "$without" benchmarks/yardsticks/without-openat2.c
# pair.sh ROOT [WRAPPER...]: health in process (dom0kit-bench, the best of its 20 passes) and the
# floor (the best of its 20) on ROOT, alternated over three rounds so that neither is measured
# in a quieter moment than the other; prints the best of each. A WRAPPER runs both (the seccomp
# filter costs every system call something: the floor runs under it too). No awk: under the
# mounted tree, /etc/alternatives is gone.
cat > "$work/pair.sh" <<'PAIR'
root=$1; shift; ours=; theirs=
for round in 1 2 3; do
  o=$("$@" "$BENCH" health "$root" | sed -n 's/^health on [0-9]* functions: \([0-9.]*\) ms.*/\1/p')
  t=$("$@" "$FLOOR" "$root")
  ours=$(printf '%s\n%s\n' "$ours" "$o" | grep . | sort -g | head -1)
  theirs=$(printf '%s\n%s\n' "$theirs" "$t" | grep . | sort -g | head -1)
done
echo "$ours $theirs"
PAIR
export BENCH=$bench FLOOR=$floor
read -r ours_root floor_root < <(sh "$work/pair.sh" "$tree")
row "health in process, --root" "$ours_root" "C floor" "$floor_root" ms ours/theirs "<= 1.1"
read -r ours_walked floor_walked < <(sh "$work/pair.sh" "$tree" "$without")
row "health in process, --root, no openat2 (walked)" "$ours_walked" "C floor" "$floor_walked" ms ours/theirs "-"
# On /: the tree mounted over /sys, /etc and /proc/cmdline in a private mount namespace; the
# floor reads the same mounted tree in the same namespace.
read -r ours_system floor_system ours_system_old floor_system_old < <(unshare -m sh -c '
  mount --bind "$1/sys" /sys && mount --bind "$1/etc" /etc && mount --bind "$1/proc/cmdline" /proc/cmdline &&
  echo "$(sh "$2" /) $(sh "$2" / "$3")"' sh "$tree" "$work/pair.sh" "$without")
row "health in process, on /" "$ours_system" "C floor" "$floor_system" ms ours/theirs "<= 1.1"
row "health in process, on /, no openat2 (4.19)" "$ours_system_old" "C floor" "$floor_system_old" ms ours/theirs "<= 1.1"
# A command against a command: the floor run once as its own process, timed the same way in the
# same minute (a mean of runs; the in-process figures above are each the best of 20).
measure "   pciback-agent health --root (the whole command)" 20 "$(tool pciback-agent)" health --root "$tree"
ours_command=$MEAN_MS
measure "   the C floor, one pass (the whole command)" 20 "$floor" "$tree" 1
row "pciback-agent health --root, whole command" "$ours_command" "C floor, a command" "$MEAN_MS" ms ours/theirs "<= 1.5"
row "  the same beside the floor's best pass" "$ours_command" "C floor" "$floor_root" ms ours/theirs "-"
