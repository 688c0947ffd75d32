import BootConfig
import Dom0Core

/// dom0's access to each device of the hide lists, in XAPI's words, and the entries XAPI cannot
/// read: one such entry makes XAPI's dom0-access calls fail for every device of the host.
struct Dom0AccessCheck: HealthCheck {
    let subject = "dom0 access to hidden devices"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        guard let status = try? await BootStatus.read(BootEditor(root: context.root), xen: context.xen) else { return [] }
        var results = status.devices.map { device in
            CheckResult("dom0 access \(device.device)", .pass, device.dom0Access.rawValue)
        }
        let configured = status.lines.first { $0.line == .dom0 }.flatMap { BootArguments($0.configured).value(of: BootKnob.hide) } ?? ""
        for entry in status.xapiCannotRead {
            let fix = configured.contains(entry) ? "host-prepare boot hide add with any of its addresses writes the list in full"
                : "only the running line has it: gone at the next boot"
            results.append(CheckResult("xen-pciback.hide entry \(entry)", .warn,
                                       "XAPI cannot read it (it reads (DDDD:BB:DD.F) only) and then fails for every device; \(fix)"))
        }
        return results
    }
}
