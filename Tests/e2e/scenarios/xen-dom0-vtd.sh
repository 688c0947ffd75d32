# e2e-summary: Xen 4.17 dom0 on q35 with QEMU's VT-d: health's IOMMU and interrupt remapping answers agree with Xen's own log
# e2e-kernel: xen
# e2e-qemu: -machine q35,kernel-irqchip=split -device intel-iommu,intremap=on -device e1000,addr=0x3
# e2e-xen-append: iommu=1
# e2e-timeout: 420
. /e2e/lib.sh

check "running as Xen's dom0" "" grep -q control_d /proc/xen/capabilities
start_xenstored
run_tool sh -c "xl dmesg | grep -iE 'I/O virtualisation|remapping|VT-d|IOMMU'"
xen_log=$output
run_tool pciback-agent health
case "$xen_log" in
    *"I/O virtualisation enabled"*)
        expect_line "Xen enabled I/O virtualisation: health's IOMMU passes" 'Checking IOMMU +: PASS \(Xen: I/O virtualisation enabled\)' ;;
    *"I/O virtualisation disabled"*)
        expect_line "Xen left I/O virtualisation off: health's IOMMU fails" 'Checking IOMMU +: FAIL \(Xen: I/O virtualisation disabled' ;;
    *) fail "Xen's log says whether I/O virtualisation is on" ;;
esac
case "$xen_log" in
    *"Interrupt Remapping enabled"*|*"Interrupt remapping enabled"*)
        expect_line "interrupt remapping passes as Xen reports it" 'Checking interrupt remapping +: PASS' ;;
    *)
        expect_line "interrupt remapping fails as Xen reports it" 'Checking interrupt remapping +: FAIL' ;;
esac

# The firmware's VT-d table as dom0 sees it under Xen, and Xen's own word on HVM.
run_tool ls /sys/firmware/acpi/tables
tables=$output
run_tool sh -c "xl info | grep virt_caps"
caps=$output
run_tool pciback-agent health
case "$tables" in
    *RMAD*) expect_line "health finds the VT-d table Xen keeps from dom0 (DMAR reversed)" 'Checking IOMMU in firmware +: PASS \(ACPI RMAD \(Intel VT-d' ;;
    *) fail "dom0 sees QEMU's DMAR table as Xen 4.17 leaves it, RMAD" "$tables" ;;
esac
case "$caps" in
    *" hvm"*) expect_line "hardware virtualisation passes as Xen's virt_caps say" 'Checking hardware virtualisation +: PASS \(Xen: virt_caps' ;;
    *) expect_line "hardware virtualisation WARNs as Xen's virt_caps say (TCG offers no VT-x)" 'Checking hardware virtualisation +: WARN \(Xen runs PV guests only' ;;
esac
expect_no_output "no /dev/kvm line under Xen" "/dev/kvm"
expect_no_output "no vhost-net line under Xen" "/dev/vhost-net"
