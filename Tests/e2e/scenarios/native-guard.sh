# e2e-summary: native kernel, root on a virtio disk: dom0's route NIC and root-disk controller refused unless --force
# e2e-kernel: native
# e2e-rootdisk: yes
# e2e-qemu: -device e1000,addr=0x3
. /e2e/lib.sh
nic=0000:00:03.0 disk=0000:00:05.0

check "/ is the ext4 filesystem on the virtio disk" "$(grep ' / ' /proc/mounts)" grep -q '^/dev/vda / ext4' /proc/mounts
expect_driver "the root disk's controller is on virtio-pci" $disk virtio-pci

modules e1000
has_interface() { [ -d /sys/bus/pci/devices/$nic/net ]; }
wait_until 10 has_interface
interface=$(ls /sys/bus/pci/devices/$nic/net)
ip link set "$interface" up
ip address add 192.0.2.10/24 dev "$interface"
ip route add default dev "$interface"
check "dom0's default route is on $interface" "" grep -q "^$interface	00000000" /proc/net/route

rules "$nic pci-stub"
expect_exit "the route NIC is refused" 2 pciback-agent once
expect_output "the refusal says why" "default route ($interface)"
expect_driver "the route NIC stays on e1000" $nic e1000
expect_exit "the dry run reports the refusal too" 2 pciback-agent once --dry-run

rules "$disk pci-stub"
expect_exit "the root disk's controller is refused" 2 pciback-agent once
expect_output "the refusal says why" "root filesystem"
expect_driver "the disk controller stays on virtio-pci" $disk virtio-pci

rules "$nic pci-stub"
expect_exit "--force binds the route NIC" 0 pciback-agent once --force
expect_driver "the route NIC is on pci-stub" $nic pci-stub
