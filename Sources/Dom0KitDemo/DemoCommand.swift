import ArgumentParser
import Dom0Core
import Dom0KitCLI
import Health
import HostSpec
import SystemPackage

/// `host-prepare demo [DIR]` (this program, `dom0kit-demo`, which `host-prepare demo` runs):
/// builds the demo host and runs every capability on it.
public struct DemoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "host-prepare demo",
        abstract: "Build a small XCP-ng-like demo host and prepare it, showing each step.",
        discussion: """
            Lays out a fake host tree in DIR/root (a new temporary directory when DIR is omitted): \
            sysfs with a NIC and a GPU+audio pair to hide, an XCP-ng grub.cfg, /etc/default/grub, control \
            daemons' units and a sparse 64 GiB disk image; a small pack in DIR/packs (an ISO when xorriso \
            is installed); and the host's spec in DIR/host.yaml. Then it runs what an operator would: \
            plan, apply, apply again ("nothing to do") and check. Nothing outside DIR is touched; the \
            demo host's kernel is simulated, so devices really move to pciback in its sysfs.

            DIR must be new, empty, or an earlier demo's; anything else is refused (exit 2).
            """)

    @Argument(help: ArgumentHelp("Where to build the demo host.", valueName: "DIR"))
    var directory: String?

    @Flag(name: .long, help: "Print the report as JSON for scripts.")
    var json = false

    @Flag(name: .shortAndLong, help: "Log what happens (-v info, -vv debug) on stderr.")
    var verbose: Int

    @Option(name: .long, help: ArgumentHelp("Not for the demo, which builds its own host in DIR.", visibility: .hidden))
    var root: String?

    public init() {}

    public func validate() throws {
        if root != nil {
            throw ValidationError("demo builds its own host in DIR; --root does not apply to it")
        }
    }

    public func run() async throws {
        let report = try await Demo.run(in: directory.map { FilePath($0) })
        let failed = !report.apply.succeeded || report.check.worst == .fail
        try CommandOutput.show(json: json, report: report, status: failed ? .failed : .success, text: DemoText.render(report))
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
        text += """

            The spec: \(report.spec)
            \(report.specText.indented)
            Step 1 — host-prepare plan: what would change, module by module, computed without touching anything
            \(report.plan.text.indented)
            Step 2 — host-prepare apply: the plan, in order, each step recorded in a journal so that a crash
            or power cut is finished by the next apply
            \(report.apply.text.indented)
            Step 3 — host-prepare apply again: the host is as the spec says
            \(report.applyAgain.text.indented)
            Step 4 — host-prepare check: health, and each module against the spec
            \(report.check.text.indented)
            Look around: ls \(report.root); run the steps yourself with
              host-prepare plan \(report.spec) --root \(report.root)
            A real host gets the same steps with --root / (the default), or at first boot from
            /etc/dom0kit/host.yaml.

            """
        return text
    }
}
