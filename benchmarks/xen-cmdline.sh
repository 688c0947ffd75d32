#!/usr/bin/env bash
# xen-cmdline on a five-entry XCP-ng grub.cfg, release build, through the tool's symlink, beside
# its yardstick in the same run: XenServer's Python tool when this host has it
# (/opt/xensource/libexec/xen-cmdline), else benchmarks/yardsticks/xen-cmdline.py — the same
# operation in the system's Python with nothing else (no checks, no grub-script-check), so a
# lower bound on the reference's cost.
#
#  1. --get-dom0 console, RUNS runs of each                          (goal: >= 30x the reference)
#  2. 80 cases, gets and sets of Xen and dom0 arguments mixed, each tool on its own copy of the
#     file; every set changes the value, so every set writes       (goal: >= 10x the reference)
#  3. the floor under any tool: exec of /bin/true, and of a static Swift "hello" — the most any
#     program can be faster than the reference is its time over these.
#
#   benchmarks/xen-cmdline.sh [RUNS]      (default 200 runs)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
runs=${1:-200}

xen_cmdline=$(tool xen-cmdline)
ours_root="$work/ours" theirs_root="$work/theirs"
for root in "$ours_root" "$theirs_root"; do
  mkdir -p "$root/boot/grub"
  cp Tests/TestSupport/Fixtures/boot/xcpng-8.2-bios.grub.cfg "$root/boot/grub/grub.cfg"
done
if [ -x /opt/xensource/libexec/xen-cmdline ]; then
  reference_name="XenServer's xen-cmdline"
  reference() { shift; /opt/xensource/libexec/xen-cmdline "$@"; }  # it knows only the real /boot
  theirs_root=/
else
  reference_name="Python yardstick"
  reference() { /usr/bin/python3 benchmarks/yardsticks/xen-cmdline.py "$@"; }
fi

measure "xen-cmdline --get-dom0 console" "$runs" "$xen_cmdline" --root "$ours_root" --get-dom0 console
ours_get=$MEAN_MS
RSS_COMMAND="/usr/bin/python3 benchmarks/yardsticks/xen-cmdline.py $theirs_root --get-dom0 console"
get_reference() { reference "$theirs_root" --get-dom0 console; }
measure "$reference_name --get-dom0 console" "$runs" get_reference
row "xen-cmdline --get-dom0" "$ours_get" "$reference_name" "$MEAN_MS" ms theirs/ours ">= 30"

# The mix: case N alternates a get and a set over four keys of both lines.
cases=80
mix() {  # mix TOOL ROOT: runs the 80 cases with TOOL ("ours" or "reference"), prints nothing
  local tool=$1 root=$2 n
  for n in $(seq "$cases"); do
    case $(( n % 4 )) in
      0) args=(--get-dom0 console) ;;
      1) args=(--set-dom0 "bench=$n") ;;
      2) args=(--get-xen dom0_mem) ;;
      3) args=(--set-xen "bench_xen=$n") ;;
    esac
    if [ "$tool" = ours ]; then "$xen_cmdline" --root "$root" "${args[@]}"; else reference "$root" "${args[@]}"; fi
  done >/dev/null
}
elapsed_ms() { local start end; start=$(date +%s%N); "$@"; end=$(date +%s%N); awk -v n=$(( end - start )) 'BEGIN { printf "%.1f", n / 1e6 }'; }
mix ours "$ours_root"; mix reference "$theirs_root"  # warm up
ours_mix=$(elapsed_ms mix ours "$ours_root")
theirs_mix=$(elapsed_ms mix reference "$theirs_root")
echo "80 mixed cases: xen-cmdline $ours_mix ms, $reference_name $theirs_mix ms"
row "xen-cmdline, 80 mixed gets and sets" "$ours_mix" "$reference_name" "$theirs_mix" ms theirs/ours ">= 10"

# What one set costs beyond a get: grub-script-check, the only process a set starts.
n=0
set_next() {
  n=$(( n + 1 ))
  "$xen_cmdline" --root "$ours_root" --set-dom0 "bench=$n"
}
RSS_COMMAND="$xen_cmdline --root $ours_root --set-dom0 bench=rss"
measure "xen-cmdline --set-dom0 bench=N (writes, after grub-script-check)" "$runs" set_next

# The floor under any program on this machine, this minute.
hello="$work/hello"
printf 'print("hello")\n' > "$work/hello.swift"
swiftc -O -static-stdlib "$work/hello.swift" -o "$hello" 2>/dev/null
measure "exec of /bin/true" "$runs" /bin/true
true_ms=$MEAN_MS
measure "exec of a static Swift hello" "$runs" "$hello"
row "exec floor: static Swift hello" "$MEAN_MS" "/bin/true" "$true_ms" ms ours/theirs "-"
