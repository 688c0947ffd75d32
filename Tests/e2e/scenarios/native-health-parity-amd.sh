# e2e-summary: virt-host-validate qemu beside pciback-agent health on an AMD CPU (svm) with QEMU's AMD IOMMU and kvm_amd: every line agrees
# e2e-kernel: native
# e2e-qemu: -cpu EPYC -machine q35 -device amd-iommu -device e1000,addr=0x3
. /e2e/lib.sh
. /e2e/health-parity.sh
modules tun vhost_net kvm_amd
cgroup_v2
parity "AMD-V and AMD-Vi"
run_tool pciback-agent health
expect_line "svm" 'Checking hardware virtualisation +: PASS \(svm \(AMD-V\)\)'
