# e2e-summary: native kernel on q35 with an emulated VT-d: vfio-pci, real IOMMU groups, a shared group refused unless whole
# e2e-kernel: native
# e2e-qemu: -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
# e2e-qemu: -device e1000,addr=0x3 -device e1000,addr=0x4.0,multifunction=on -device e1000,addr=0x4.1
# e2e-append: intel_iommu=on
. /e2e/lib.sh
alone=0000:00:03.0 first=0000:00:04.0 second=0000:00:04.1
group_of() { basename "$(readlink /sys/bus/pci/devices/$1/iommu_group)"; }

modules e1000
wait_until 10 driver_is $second e1000
check "the kernel made IOMMU groups" "$(ls /sys/kernel/iommu_groups | wc -l) groups" [ -n "$(ls /sys/kernel/iommu_groups)" ]
check "the two functions of one slot share a group" "group $(group_of $first)" [ "$(group_of $first)" = "$(group_of $second)" ]
check "the lone NIC has a group of its own" "group $(group_of $alone)" [ "$(group_of $alone)" != "$(group_of $first)" ]

rules "$alone vfio-pci"
expect_exit "once binds the lone NIC" 0 pciback-agent once
expect_driver "the lone NIC is on vfio-pci" $alone vfio-pci
check "vfio made its group's device node" "/dev/vfio/$(group_of $alone)" [ -e "/dev/vfio/$(group_of $alone)" ]

rules "$alone vfio-pci" "$first vfio-pci"
expect_exit "one function of a shared group is refused" 2 pciback-agent once
expect_output "the refusal names the other function" "IOMMU group $(group_of $first) is not viable: $second (e1000)"
expect_driver "the refused function stays on e1000" $first e1000
expect_exit "health fails on the refused device" 1 pciback-agent health
expect_output "health says why the agent refuses it" "pciback-agent refuses it: IOMMU group $(group_of $first) is not viable"
expect_no_output "health does not send the operator back to a refused command" "run pciback-agent once"

rules "$alone vfio-pci" "0000:00:04.* vfio-pci"
expect_exit "the whole group listed: once binds both" 0 pciback-agent once
expect_driver "the first function is on vfio-pci" $first vfio-pci
expect_driver "the second function is on vfio-pci" $second vfio-pci
run_tool pciback-agent health
expect_output "health counts the real IOMMU groups" "IOMMU groups"
check "health passes every hidden device" "" sh -c "! printf '%s' \"\$0\" | grep -q 'hidden device .*: FAIL'" "$output"

expect_exit "restore gives the lone NIC back" 0 pciback-agent restore $alone
expect_driver "the lone NIC is back on e1000" $alone e1000
