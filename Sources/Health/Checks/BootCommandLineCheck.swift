import BootConfig
import Dom0Core

/// Configured boot arguments against the running ones: is a reboot pending?
struct BootCommandLineCheck: HealthCheck {
    let subject = "boot command line"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        let status: BootStatus
        do { status = try await BootStatus.read(BootEditor(root: context.root), xen: context.xen) } catch {
            return [.cannotTell(what, error.what)]
        }
        let changes = status.lines.flatMap { line in line.pending.map { "+\($0)" } + line.stale.map { "-\($0)" } }
        switch status.rebootNeeded {
        case true?: return [CheckResult(what, .warn, "reboot needed: " + changes.joined(separator: " "))]
        case false?: return [CheckResult(what, .pass, "the running arguments match")]
        case nil: return [.cannotTell(what, status.lines.filter { $0.running == nil }.map(\.source).joined(separator: "; "))]
        }
    }
}
