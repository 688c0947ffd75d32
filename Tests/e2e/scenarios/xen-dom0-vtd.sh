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
