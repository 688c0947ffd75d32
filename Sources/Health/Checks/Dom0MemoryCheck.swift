import BootConfig
import Dom0Core

/// dom0_mem set, so dom0 does not start with all memory and balloon down.
struct Dom0MemoryCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = "dom0_mem"
        guard try context.isXenDom0 else { return [] }
        let xen: BootArguments
        do { xen = try await BootEditor(root: context.root).configured(.xen) } catch { return [.cannotTell(what, error.what)] }
        guard let value = xen.value(of: BootKnob.dom0Memory) else {
            return [CheckResult(what, .warn, "not set: dom0 starts with all memory and balloons down")]
        }
        return [CheckResult(what, .pass, value)]
    }
}
