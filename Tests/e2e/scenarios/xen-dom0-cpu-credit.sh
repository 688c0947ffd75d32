# e2e-summary: as xen-dom0-cpu under sched=credit, as XCP-ng runs Xen: 4 vCPUs pinned, Domain-0's weight and cap set by the unit's command with xl sched-credit
# e2e-kernel: xen
# e2e-smp: 4
# e2e-spec: xen-dom0-cpu-credit.yaml
# e2e-timeout: 480
. /e2e/lib.sh
. /e2e/dom0-cpu.sh
dom0_cpu_checks credit 768 300 4 "0 1 2 3" ""
