# e2e-summary: virt-host-validate qemu beside pciback-agent health on an AMD CPU whose kernel runs amd_iommu=off and has no kvm_amd loaded: the failures agree
# e2e-kernel: native
# e2e-qemu: -cpu EPYC -machine q35 -device amd-iommu -device e1000,addr=0x3
# e2e-append: amd_iommu=off
. /e2e/lib.sh
. /e2e/health-parity.sh
modules tun vhost_net
cgroup_v1
parity "AMD-Vi turned off, no kvm_amd, cgroup v1"
run_tool pciback-agent health
expect_line "the argument that turns it off is named" 'Checking IOMMU +: FAIL \(the firmware has IVRS but the kernel runs with amd_iommu=off: remove it\)'
expect_line "kvm_amd is named" 'Checking /dev/kvm +: FAIL \(missing: modprobe kvm_amd'
