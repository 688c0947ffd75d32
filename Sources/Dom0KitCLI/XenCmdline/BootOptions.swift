import ArgumentParser
import BootConfig
import Dom0Core
import SystemPackage

extension BootStyle: ExpressibleByArgument {}

/// Options of every command that reads or edits boot command lines.
struct BootOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Use this XenServer grub.cfg (a path on the host) instead of searching.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Where the command lines live: auto, xenserver, debian or debian-dropin.", valueName: "STYLE"))
    var style: BootStyle = .auto

    @Option(name: .customLong("entry"), help: ArgumentHelp(
        "Edit the menu entry with this title instead of the product entry and its (Serial) entry (repeatable).",
        valueName: "TITLE"))
    var entries: [String] = []

    @Flag(help: ArgumentHelp("Take xen-cmdline's --set-xen and --set-dom0 arguments as given: skip the checks of knob values.",
                             discussion: "The knobs: xen-pciback.hide, vfio-pci.ids, iommu, dom0_mem, dom0_max_vcpus, dom0_vcpus_pin, "
                                 + "dom0_nodes, sched-gran, cpuid_mask_*. Each argument is still one token with a key. "
                                 + "host-prepare boot's typed commands always check."))
    var force = false

    @Flag(name: .customLong("no-regenerate"), help: "Do not regenerate grub.cfg after a Debian-style change.")
    var noRegenerate = false

    @Flag(name: .customLong("dry-run"), help: "Show what would change (a diff); change nothing.")
    var dryRun = false

    /// The editor these options describe, for the host the common options name.
    func editor(_ host: HostOptions) throws(Dom0Error) -> BootEditor {
        BootEditor(root: try host.hostRoot(), style: style, config: config.map { FilePath($0) }, entries: entries,
                   regenerate: !noRegenerate)
    }
}

/// Shows what a boot edit read and did: values on stdout, one per line; notes on stderr;
/// the diff with --dry-run; the whole report with --json.
enum BootOutput {
    /// Applies the report's plan (unless dry-run) and prints the outcome.
    static func finish(_ report: BootEditReport, host: HostOptions, boot: BootOptions, tool: String) async throws {
        if !host.json {
            for warning in report.warnings { note(tool, "warning: \(warning)") }
            if let command = report.regenerate, !report.regenerateInPlan, !report.plan.isEmpty {
                note(tool, "grub.cfg was not regenerated under --root; on the host run: \(command.joined(separator: " "))")
            }
        }
        try await host.carryOut(report.plan, report: report, dryRun: boot.dryRun) { applied in
            var text = report.values.flatMap(\.tokens).map { "\($0)\n" }.joined()
            if boot.dryRun { text += report.plan.text }
            if let applied, !applied.succeeded { text += applied.text }
            return text
        }
    }

    static func note(_ tool: String, _ text: String) {
        var standardError = StandardError()
        print("\(tool): \(text)", to: &standardError)
    }
}
