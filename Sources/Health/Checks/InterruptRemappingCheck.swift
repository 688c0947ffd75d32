import Dom0Core

/// Interrupt remapping, which safe passthrough of MSIs needs: Xen's dmesg under Xen, the IR-
/// interrupt chips of /proc/interrupts natively.
struct InterruptRemappingCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = "interrupt remapping"
        if try context.isXenDom0 {
            guard let dmesg = context.xen.dmesg else { return [.cannotTell(what, "xl dmesg cannot be asked here")] }
            if dmesg.contains("Interrupt remapping enabled") { return [CheckResult(what, .pass)] }
            if dmesg.contains("Interrupt remapping disabled") || dmesg.contains("intremap=0") {
                return [CheckResult(what, .warn, "disabled: passthrough devices' interrupts are not isolated")]
            }
            return [.cannotTell(what, "Xen's log does not say")]
        }
        guard let interrupts = try context.root.readText("/proc/interrupts") else { return [.cannotTell(what, "no /proc/interrupts")] }
        return interrupts.contains("IR-") ? [CheckResult(what, .pass)] : [CheckResult(what, .warn, "no IR- interrupt chips in /proc/interrupts")]
    }
}
