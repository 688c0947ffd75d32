import Dom0Core

/// Running as Xen's control domain: /proc/xen/capabilities has control_d, or XENFEAT_dom0 (bit 11).
struct XenDom0Check: HealthCheck {
    let subject = "running as Xen dom0"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        if try context.isXenDom0 { return [CheckResult(subject, .pass)] }
        if try context.root.readText("/sys/hypervisor/type")?.trimmingWhitespace == "xen" {
            return [CheckResult(subject, .fail, "this is a Xen guest, not dom0")]
        }
        return [CheckResult(subject, .warn, "not under Xen: a native (KVM) host")]
    }
}
