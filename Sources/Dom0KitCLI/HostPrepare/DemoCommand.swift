import ArgumentParser
import Dom0Core
import HostSpec
import SystemPackage

/// `host-prepare demo [DIR]`: builds the demo host and runs every capability on it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a small XCP-ng-like demo host and prepare it, showing each step.",
        discussion: """
            Lays out a fake host tree in DIR/root (a new temporary directory when DIR is omitted): \
            sysfs with a NIC and a GPU+audio pair to hide, an XCP-ng grub.cfg, /etc/default/grub, control \
            daemons' units and a sparse 64 GiB disk image. Then it plans and applies every capability this \
            build has, and plans again to show nothing is left to do. Nothing outside DIR is touched.

            DIR must be new, empty, or an earlier demo's; anything else is refused (exit 2).
            """)

    @OptionGroup var host: HostOptions

    @Argument(help: ArgumentHelp("Where to build the demo host.", valueName: "DIR"))
    var directory: String?

    func validate() throws {
        if host.root != nil {
            throw ValidationError("demo builds its own host in DIR; --root does not apply to it")
        }
    }

    func run() async throws {
        let report = try await Demo.run(in: directory.map { FilePath($0) })
        print(host.json ? try Output.json(report) : DemoText.render(report), terminator: "")
        if !report.apply.succeeded { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}

/// The demo told as a story for a newcomer.
enum DemoText {
    static func render(_ report: DemoReport) -> String {
        var text = """
            Dom0Kit \(Dom0Kit.version) demo: a small XCP-ng-like Xen host, built in \(report.root)

            The host
              A Xen dom0 booted through UEFI; its boot configuration, /proc and /sys are files in the tree.
              PCI functions (address, name, driver, role):

            """
        for device in report.devices {
            let mark = device.hide ? "hide" : "    "
            text += "    \(mark)  \(device.address)  \(device.name)  [\(device.driver ?? "no driver")]\n"
            text += "                         \(device.role)\n"
        }
        text += "  Files a real host would have:\n"
        for file in report.files { text += "    \(file)\n" }
        text += "\nCapabilities in this build\n"
        for capability in Capability.all {
            let state = report.capabilities[capability.tool] == true ? "ready" : capability.partly == nil ? "not built yet" : "in part"
            text += "  \(capability.tool.padding(16))\(state.padding(15))\(capability.summary)\n"
            if let partly = capability.partly { text += "  \("".padding(31))(\(partly))\n" }
        }
        text += """

            Step 1 — plan: what would change, computed without touching anything
            \(indent(report.plan.text))
            Step 2 — apply: the plan, in order, stopping at the first failure
            \(indent(report.apply.text))
            Step 3 — plan again: after a successful apply, nothing is left to do
            \(indent(report.planAfterApply.text))
            Look around the host tree: ls \(report.root)
            A real host gets the same steps with --root / (the default).

            """
        return text
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }
            .joined(separator: "\n")
    }
}

extension String {
    /// The string padded with spaces to at least `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
