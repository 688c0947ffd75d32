# e2e-summary: the same spec on a host whose tree boots Linux 5.10 (no per-node form): the even split of 400 at boot, then the early unit's command trims node 1 to 0
# e2e-kernel: native
# e2e-smp: 2
# e2e-memory: 2048
# e2e-qemu: -object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=1024M
# e2e-qemu: -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
# e2e-spec: native-hugepages-split.yaml
# e2e-spec-kernel: 5.10.0-30-amd64
. /e2e/lib.sh
. /e2e/hugepages.sh
unit=/usr/lib/systemd/system/host-prepare-hugepages.service
booted_with_written_line "hugepagesz=2M hugepages=400"
nodes_hold "the kernel split 400 pages evenly at boot" 200 200
check "apply enabled the early unit" "" test -L /etc/systemd/system/sysinit.target.wants/host-prepare-hugepages.service
run_tool pciback-agent health
expect_line "before the unit, health WARNs of node 1's extra pages" \
    'Checking hugepages node 1 +: WARN \(200 2M pages, 200 more than asked \(400 MiB held from the host\): host-prepare hugepages apply frees them\)'
# The unit's command, as systemd runs it early at boot.
command=$(sed -n 's|^ExecStart=[^ ]*/host-prepare ||p' $unit)
check "the unit runs host-prepare hugepages apply" "$command" [ "$command" = "hugepages apply" ]
expect_exit "the unit's command makes each node exact" 0 host-prepare $command
nodes_hold "node 0 keeps 200, node 1 is freed" 200 0
expect_exit "a second run changes nothing" 0 host-prepare $command
run_tool pciback-agent health
expect_line "health: node 0 passes" 'Checking hugepages node 0 +: PASS \(200 of 200 2M pages\)'
expect_line "health: node 1 passes" 'Checking hugepages node 1 +: PASS \(0 of 0 2M pages\)'
