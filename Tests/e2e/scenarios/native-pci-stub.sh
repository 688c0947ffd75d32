# e2e-summary: native kernel: a NIC bound to pci-stub, --dry-run changes nothing, restore gives it back; the same without openat2 (as on 4.19)
# e2e-kernel: native
# e2e-qemu: -device e1000,addr=0x3 -device e1000,addr=0x4
. /e2e/lib.sh
nic=0000:00:04.0 other=0000:00:03.0

modules e1000
wait_until 10 driver_is $nic e1000
expect_driver "e1000 took the NIC at boot" $nic e1000

rules "$nic pci-stub"
before=$(snapshot_pci)
expect_exit "once --dry-run exits 0" 0 pciback-agent once --dry-run
expect_output "the dry run says what it would do" "would bind to pci-stub"
check "the dry run changes nothing" "every driver and driver_override as before" [ "$(snapshot_pci)" = "$before" ]

expect_exit "once binds" 0 pciback-agent once
expect_output "once reports the bind" "1 hidden, 1 bound, 0 pending"
expect_driver "the NIC is on pci-stub" $nic pci-stub
check "driver_override names pci-stub" "" [ "$(cat /sys/bus/pci/devices/$nic/driver_override)" = pci-stub ]
expect_driver "the other NIC stays with dom0" $other e1000

expect_exit "a second pass has nothing to do" 0 pciback-agent once
expect_output "the second pass finds it bound" "already on pci-stub"

expect_exit "restore exits 0" 0 pciback-agent restore $nic
expect_output "restore says where it went" "$nic: now on e1000"
expect_driver "the NIC is back on e1000" $nic e1000
check "driver_override is cleared" "" [ "$(cat /sys/bus/pci/devices/$nic/driver_override)" = "(null)" ]

# As on a kernel without openat2 (XenServer 8's 4.19), on this real one: / is opened as it is.
expect_exit "without openat2, once binds" 0 without-openat2 pciback-agent once
expect_output "without openat2, once reports the bind" "1 hidden, 1 bound, 0 pending"
expect_driver "without openat2, the NIC is on pci-stub" $nic pci-stub
with=$(pciback-agent health 2>&1)
without=$(without-openat2 pciback-agent health 2>&1)
check "health says the same with and without openat2" "$(printf '%s\n' "$with" | wc -l) lines" [ "$with" = "$without" ]
expect_exit "without openat2, restore exits 0" 0 without-openat2 pciback-agent restore $nic
expect_driver "without openat2, the NIC is back on e1000" $nic e1000
