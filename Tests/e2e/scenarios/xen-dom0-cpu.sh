# e2e-summary: Xen 4.17 on 4 CPUs in two NUMA nodes boots with the dom0 CPU arguments host-prepare apply wrote (2-3 vCPUs, pinned, node 1); the weight unit's command sets Domain-0's weight in credit2; health agrees
# e2e-kernel: xen
# e2e-smp: 4
# e2e-memory: 2048
# e2e-qemu: -object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=1024M
# e2e-qemu: -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1
# e2e-spec: xen-dom0-cpu.yaml
# e2e-timeout: 480
. /e2e/lib.sh
. /e2e/dom0-cpu.sh
dom0_cpu_checks credit2 512 150 2 "2 3" 1
