import Dom0Core

/// Interrupt remapping, which safe passthrough of MSIs needs: Xen's dmesg under Xen, the IR-
/// interrupt chips of /proc/interrupts natively.
struct InterruptRemappingCheck: HealthCheck {
    let subject = "interrupt remapping"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        if try context.isXenDom0 {
            guard let dmesg = context.xen.dmesg?.lowercased() else {
                return [.cannotTell(what, "only Xen's log says: \(context.xen.unavailable ?? "xl dmesg gave nothing")")]
            }
            // Xen's words: VT-d prints "Intel VT-d Interrupt Remapping enabled." or "... not enabled.",
            // AMD-Vi "Interrupt remapping enabled"; without an IOMMU there is none to enable.
            if dmesg.contains("interrupt remapping enabled") { return [CheckResult(what, .pass, "Xen: enabled")] }
            let off = "passthrough devices' interrupts are not isolated"
            if dmesg.contains("i/o virtualisation disabled") {
                return [CheckResult(what, .fail, "Xen: I/O virtualisation disabled, so no interrupt remapping; \(off)")]
            }
            if dmesg.contains("interrupt remapping not enabled") || dmesg.contains("interrupt remapping disabled") {
                return [CheckResult(what, .fail, "Xen: not enabled; \(off)")]
            }
            return [.cannotTell(what, "Xen's log does not say (it may have wrapped)")]
        }
        guard let interrupts = try context.root.readText("/proc/interrupts") else { return [.cannotTell(what, "no /proc/interrupts")] }
        return interrupts.contains("IR-") ? [CheckResult(what, .pass)] : [CheckResult(what, .warn, "no IR- interrupt chips in /proc/interrupts")]
    }
}
