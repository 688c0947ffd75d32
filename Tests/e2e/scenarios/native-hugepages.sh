# e2e-summary: a spec's hugepages per NUMA node on two 1 GiB nodes: Linux 6.1 reads hugepages=0:200,1:0 and reserves exactly that; asked more than a node has, health FAILs with the shortfall
# e2e-kernel: native
# e2e-smp: 2
# e2e-memory: 2048
# e2e-qemu: -object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=1024M
# e2e-qemu: -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
# e2e-spec: native-hugepages.yaml
. /e2e/lib.sh
. /e2e/hugepages.sh
booted_with_written_line "hugepagesz=2M hugepages=0:200,1:0"
nodes_hold "the kernel reserved the spec's pages per node at boot" 200 0
check "no early unit is needed" "" test ! -e /etc/systemd/system/sysinit.target.wants/host-prepare-hugepages.service
run_tool pciback-agent health
expect_line "health: node 0 holds its 200" 'Checking hugepages node 0 +: PASS \(200 of 200 2M pages\)'
expect_line "health: node 1 holds none, as asked" 'Checking hugepages node 1 +: PASS \(0 of 0 2M pages\)'
more_than_fits
