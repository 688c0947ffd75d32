# e2e-summary: virt-host-validate qemu beside pciback-agent health on q35 with VT-d (intel_iommu=on), cgroup v2 then v1: every line agrees
# e2e-kernel: native
# e2e-qemu: -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on -device e1000,addr=0x3
# e2e-append: intel_iommu=on
. /e2e/lib.sh
. /e2e/health-parity.sh
modules tun vhost_net
cgroup_v2
parity "VT-d, cgroup v2"
run_tool pciback-agent health
expect_line "IOMMU groups made by intel_iommu=on" 'Checking IOMMU +: PASS \([0-9]+ IOMMU groups\)'
expect_line "the DMAR table" 'Checking IOMMU in firmware +: PASS \(ACPI DMAR \(Intel VT-d\)\)'
expect_line "the devices controller on v2 is the kernel's BPF" 'Checking cgroup devices controller +: PASS \(v2: BPF device programs'
device_model_in_root_cgroup /sys/fs/cgroup/vm.slice
cgroup_v1
parity "VT-d, cgroup v1"
run_tool pciback-agent health
expect_line "cgroup v1 hierarchies" 'Checking cgroup cpu controller +: PASS \(v1, mounted at /sys/fs/cgroup/cpu,cpuacct\)'
device_model_in_root_cgroup /sys/fs/cgroup/cpu,cpuacct/vm.slice
