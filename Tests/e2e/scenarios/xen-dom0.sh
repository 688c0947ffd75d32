# e2e-summary: Xen 4.17 dom0, no IOMMU: a NIC hidden by xen-pciback.hide that e1000 grabbed first ends on pciback; health as Xen says
# e2e-kernel: xen
# e2e-qemu: -device e1000,addr=0x3 -device e1000,addr=0x4
# e2e-append: xen-pciback.hide=(0000:00:04.0)
# e2e-timeout: 420
. /e2e/lib.sh
hidden=0000:00:04.0 other=0000:00:03.0

check "running as Xen's dom0" "$(cat /proc/xen/capabilities)" grep -q control_d /proc/xen/capabilities
modules e1000
wait_until 10 driver_is $hidden e1000
expect_driver "e1000 grabbed the hidden NIC first" $hidden e1000
# busybox modprobe ignores module options on the kernel command line, so pciback does not seize
# the device when it loads: as on a host where e1000 won the race, the agent has to move it.
modules xen-pciback
expect_driver "loading pciback left it on e1000" $hidden e1000

run_tool env PATH=/usr/bin:/bin pciback-agent health
expect_line "without xl, health says why Xen cannot be asked" 'Checking IOMMU +: WARN \(cannot tell: under Xen only Xen can say: xl is not installed'
expect_no_output "without xl, health never doubts the dom0 it just found" "not a Xen dom0"

start_xenstored
expect_exit "xl info answers" 0 xl info
run_tool sh -c "xl dmesg | grep -iE 'I/O virtualisation|remapping|IOMMU'"

expect_exit "health before fails" 1 pciback-agent health
expect_line "health: running as Xen dom0" 'Checking running as Xen dom0 +: PASS'
expect_line "health: IOMMU fails as Xen reports it" 'Checking IOMMU +: FAIL \(Xen: I/O virtualisation disabled'
expect_line "health: this firmware has no VT-d table" 'Checking IOMMU in firmware +: FAIL \(no ACPI DMAR or IVRS table'
expect_line "health: interrupt remapping fails as Xen reports it" 'Checking interrupt remapping +: FAIL \(Xen: I/O virtualisation disabled'
expect_line "health: the hidden NIC is on e1000" "Checking hidden device $hidden +: FAIL \(on e1000, not pciback; run pciback-agent once\)"

expect_exit "once binds the hidden NIC" 0 pciback-agent once
expect_driver "the hidden NIC is on pciback" $hidden pciback
expect_driver "the other NIC stays with dom0" $other e1000

expect_exit "health after still fails (no IOMMU)" 1 pciback-agent health
expect_line "health after: the hidden NIC passes" "Checking hidden device $hidden +: PASS \(on pciback\)"
expect_line "health after: still dom0" 'Checking running as Xen dom0 +: PASS'
