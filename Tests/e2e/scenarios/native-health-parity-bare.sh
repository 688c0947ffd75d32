# e2e-summary: virt-host-validate qemu beside pciback-agent health without an IOMMU, tun or vhost-net: every failure agrees
# e2e-kernel: native
# e2e-qemu: -machine q35 -device e1000,addr=0x3
. /e2e/lib.sh
. /e2e/health-parity.sh
cgroup_v2
parity "no IOMMU"
run_tool pciback-agent health
expect_line "no VT-d table" 'Checking IOMMU in firmware +: FAIL \(no ACPI DMAR or IVRS table'
expect_line "no tun" 'Checking /dev/net/tun +: FAIL \(missing: modprobe tun'
expect_line "no vhost-net" 'Checking /dev/vhost-net +: WARN \(missing: modprobe vhost_net'
