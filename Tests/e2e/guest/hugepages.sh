# Shared by the native-hugepages scenarios (sourced after lib.sh): the guest booted its kernel with
# the arguments `host-prepare apply` of the scenario's spec wrote to /etc/default/grub, on two NUMA
# nodes of 1 GiB each, and has what apply wrote (/etc/dom0kit/hugepages.conf, the unit, its link).

pool=hugepages/hugepages-2048kB/nr_hugepages
on_node() { cat /sys/devices/system/node/node$1/$pool; }

# booted_with_written_line EXPECTED: the arguments apply wrote are EXPECTED and the kernel runs them.
booted_with_written_line() {
    written=$(. /etc/default/grub; printf %s "$GRUB_CMDLINE_LINUX_DEFAULT")
    check "host-prepare apply wrote $1" "$written" [ "$written" = "$1" ]
    check "the kernel booted with them" "$(cat /proc/cmdline)" grep -q -- "$written" /proc/cmdline
    run_tool sh -c "grep -H . /sys/devices/system/node/node*/meminfo | grep MemTotal"
}

# nodes_hold NAME PAGES0 PAGES1: each node's count, as the kernel says.
nodes_hold() {
    found="$(on_node 0) $(on_node 1)"
    check "$1" "node 0 and 1 hold $found" [ "$found" = "$2 $3" ]
}

# more_than_fits: asks node 1 for all its memory in pages; the kernel cannot give them all, the
# unit's command says how many it got, and health FAILs node 1 with the shortfall.
more_than_fits() {
    total_kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo)
    asked=$((total_kb / 2048 - 1))
    printf 'Size=2M\nNodes=0:200,1:%s\n' "$asked" > /etc/dom0kit/hugepages.conf
    expect_exit "asked for $asked pages on node 1 (all its $((total_kb / 1024)) MiB), apply comes short" 1 host-prepare hugepages apply
    got=$(on_node 1)
    check "the kernel gave node 1 fewer than asked" "$got of $asked" [ "$got" -lt "$asked" ]
    expect_output "apply names node 1's shortfall" "node 1: $got of $asked 2M pages, $((asked - got)) short"
    run_tool pciback-agent health
    expect_line "health FAILs node 1 with the shortfall and why" \
        "Checking hugepages node 1 +: FAIL \\($got of $asked 2M pages, $((asked - got)) short \\([0-9]+ MiB\\): memory was in use or fragmented"
    expect_line "node 0 still passes" 'Checking hugepages node 0 +: PASS \(200 of 200 2M pages\)'
}
