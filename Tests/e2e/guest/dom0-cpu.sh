# Shared by the xen-dom0-cpu scenarios (sourced): the guest booted Xen with the
# arguments host-prepare apply wrote from the scenario's spec, and has what it wrote (grub.cfg,
# /etc/dom0kit/dom0-sched.conf, the units and their links).
# dom0_cpu_checks SCHEDULER WEIGHT CAP VCPUS PINNING NODE
dom0_cpu_checks() {
    scheduler=$1 weight=$2 cap=$3 vcpus=$4 pinning=$5 node=$6
    unit=/usr/lib/systemd/system/host-prepare-dom0-sched.service
    check "running as Xen's dom0" "" grep -q control_d /proc/xen/capabilities
    start_xenstored

    run_tool sh -c "xl info | grep -E '^(xen_scheduler|nr_cpus|nr_nodes|xen_commandline)'"
    expect_line "Xen runs $scheduler" "^xen_scheduler +: $scheduler\$"
    written=$(sed -n 's/^[[:space:]]*multiboot2 [^ ]* //p' /boot/grub/grub.cfg | head -n 1)
    booted=$(xl info | sed -n 's/^xen_commandline *: //p')
    check "Xen booted with the arguments host-prepare wrote" "$booted" [ "$booted" = "$written" ]

    run_tool xl vcpu-list 0
    found=$(xl vcpu-list 0 | tail -n +2 | wc -l)
    check "dom0 has $vcpus vCPUs" "xl vcpu-list: $found" [ "$found" = "$vcpus" ]
    found=$(xl vcpu-list 0 | tail -n +2 | awk '{ printf "%s%s", sep, $7; sep = " " }')
    check "each vCPU is pinned to its own CPU ($pinning)" "hard affinity: $found" [ "$found" = "$pinning" ]
    if [ -n "$node" ]; then
        run_tool xl list -n 0
        found=$(xl list -n 0 | awk 'NR == 2 { print $NF }')
        check "dom0 stays on node $node" "node affinity: $found" [ "$found" = "$node" ]
    fi

    # The unit's command, as systemd would run it at boot.
    command=$(sed -n 's|^ExecStart=[^ ]*/host-prepare ||p' $unit)
    check "the unit runs host-prepare dom0-sched apply" "$command" [ "$command" = "dom0-sched apply" ]
    check "apply enabled the unit" "" test -L /etc/systemd/system/multi-user.target.wants/host-prepare-dom0-sched.service
    before=$(xl sched-$scheduler -d 0 | awk 'NR == 2 { print $3 }')
    check "Xen starts Domain-0 at weight 256" "$before" [ "$before" = 256 ]
    expect_exit "the unit's command sets the weight" 0 host-prepare $command
    expect_output "it says what it set" "weight $weight"
    run_tool xl sched-$scheduler -d 0
    expect_line "xl sched-$scheduler shows weight $weight, cap $cap" "^Domain-0 +0 +$weight +$cap\$"
    expect_exit "a second run changes nothing" 0 host-prepare $command
    expect_output "and says so" "nothing to do"

    run_tool host-prepare health
    expect_line "health: dom0 vCPUs pass" "Checking dom0 vCPUs +: PASS \\($vcpus "
    expect_line "health: pinning passes" "Checking dom0 vCPU pinning +: PASS"
    [ -n "$node" ] && expect_line "health: NUMA node passes" "Checking dom0 NUMA nodes +: PASS \\(node affinity $node"
    expect_line "health: the weight passes" "Checking Domain-0 weight +: PASS \\(weight $weight, cap $cap in $scheduler\\)"

    run_tool xl sched-$scheduler -d 0 -w 256
    run_tool host-prepare health
    expect_line "health fails once the weight is lost, with the fix" \
        "Checking Domain-0 weight +: FAIL \\(weight 256, cap $cap in $scheduler, configured weight $weight.*host-prepare dom0-sched apply"
}
