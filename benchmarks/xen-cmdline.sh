#!/usr/bin/env bash
# xen-cmdline on a five-entry XCP-ng grub.cfg: one --get-dom0 and one --set-dom0 (each set
# changes the value, so every run writes the file), release build, through the tool's symlink.
# Targets: <= 6 ms and <= 4 MiB. For scale: hello-world in Swift with the static stdlib.
#
#   benchmarks/xen-cmdline.sh [RUNS]      (default 200 runs)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=${1:-200}

root="$work/root"
mkdir -p "$root/boot/grub"
cp Tests/TestSupport/Fixtures/boot/xcpng-8.2-bios.grub.cfg "$root/boot/grub/grub.cfg"
xen_cmdline=$(tool xen-cmdline)

measure "xen-cmdline --get-dom0 console" "$runs" "$xen_cmdline" --root "$root" --get-dom0 console
# Each run sets a new value, so each one plans, checks and replaces the file.
n=0
set_next() {
  n=$(( n + 1 ))
  "$xen_cmdline" --root "$root" --set-dom0 "bench=$n"
}
RSS_COMMAND="$xen_cmdline --root $root --set-dom0 bench=rss"
measure "xen-cmdline --set-dom0 bench=N (writes, after grub-script-check)" "$runs" set_next
PATH_WITHOUT_CHECK=$(mktemp -d)
set_next_unchecked() {
  n=$(( n + 1 ))
  PATH="$PATH_WITHOUT_CHECK" "$xen_cmdline" --root "$root" --set-dom0 "bench=$n"
}
measure "  the same without grub-script-check on PATH" "$runs" set_next_unchecked
rmdir "$PATH_WITHOUT_CHECK"
