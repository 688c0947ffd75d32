import Glibc
import ArgumentParser
import BootConfig
import Dom0Core
import Health
import HostSpec
import SystemPackage

/// The spec file argument of plan, apply and check.
struct SpecArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The host spec, YAML or JSON (see installer/examples/).", valueName: "SPEC"))
    var path: String

    /// The spec, read and checked: an error names the file, line and key path.
    func load() throws(Dom0Error) -> HostSpec { try HostSpec.load(FilePath(path)) }
}

struct PlanHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a host spec would change, module by module; change nothing.",
        discussion: """
            One plan from every module, in a safe order: disk → packs → boot → control slice → the \
            agent's rules and unit → binding the hidden devices. Each module's changes are shown as its \
            own tool would show them (diffs for files, argv for tools).

            Exit status: 0 (whether or not there is something to do), 1 failed, 2 refused, 64 usage.
            """)
    @OptionGroup var spec: SpecArgument
    @OptionGroup var host: HostOptions

    func run() async throws {
        try await showPlan(try spec.load(), host)
    }
}

/// `plan`, and `apply --dry-run`: the plan, shown; nothing changes.
private func showPlan(_ spec: HostSpec, _ host: HostOptions) async throws {
    let plan = try await HostPlanner(root: try host.hostRoot()).plan(spec)
    try host.show(plan: plan, text: plan.text)
}

/// `apply` and `firstboot`: apply with the journal and show what happened; a failed step is the
/// command's error (its text is in the report already).
private func applyAndShow(_ spec: HostSpec, from path: String, _ host: HostOptions) async throws -> HostApplyReport {
    let applier = HostApplier(context: try host.applyContext(), afterStep: ToolEnvironment.current.afterApplyStep)
    let report = try await applier.apply(spec, from: path)
    try host.show(report: report, plan: report.plan, apply: report.apply, error: report.failedStep, text: report.text)
    return report
}

struct ApplyHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the host as a spec says; an interrupted apply is finished by the next.",
        discussion: """
            Plans, then applies step by step, recording progress in /var/lib/dom0kit/host-prepare.journal: \
            after a crash or power loss, running apply again finishes the job (every step is idempotent, \
            and the plan is made from the host as it is). Applying again when nothing is left says \
            "Nothing to do". Says when a reboot is needed (a boot command line changed); --reboot then \
            reboots, and only then.

            Exit status: 0 done or nothing to do, 1 a step failed (the host is as far as the report says), \
            2 refused (unsafe or unmet requirement, nothing changed), 64 usage.
            """)
    @OptionGroup var spec: SpecArgument
    @OptionGroup var host: HostOptions
    @Flag(help: "Reboot when, and only when, something that needs a reboot changed.") var reboot = false
    @Flag(name: .customLong("dry-run"), help: "Show the plan and stop (as `plan`).") var dryRun = false

    func run() async throws {
        let specification = try spec.load()
        if dryRun {
            try await showPlan(specification, host)
        } else {
            let report = try await applyAndShow(specification, from: spec.path, host)
            if reboot && report.needsReboot { try await Reboot.now(try host.hostRoot()) }
        }
    }
}

struct CheckHost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the host against a spec: health, and each module as the spec says.",
        discussion: """
            The health checks (as `host-prepare health`), then one line per module of the spec: PASS \
            when applying would change nothing, FAIL naming what is left to do.

            Exit status: 0 when nothing FAILs, 1 otherwise.
            """)
    @OptionGroup var spec: SpecArgument
    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        let specification = try spec.load()
        let runner = CommandRunner()
        let context = HealthContext(root: root, runner: runner, xen: await XenFacts.read(root, runner: runner))
        let report = await HostCheck.run(specification, context)
        try host.show(report, status: report.worst == .fail ? .failed : .success)
    }
}

struct FirstBoot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firstboot",
        abstract: "Apply /etc/dom0kit/host.yaml once, at first boot (host-prepare-firstboot.service).",
        discussion: """
            Does nothing when /var/lib/dom0kit/firstboot.done exists. Otherwise applies the spec and, \
            when that succeeds, writes firstboot.done. A failure leaves the host bootable, the reason in \
            the journal (and in /var/lib/dom0kit/host-prepare.journal), and firstboot.done absent, so the \
            next boot tries again.
            """)
    static let done: FilePath = "/var/lib/dom0kit/firstboot.done"

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("The spec to apply.", valueName: "SPEC")) var spec = HostSpec.firstBootPath.string
    @Flag(help: "Reboot when a boot command line changed.") var reboot = false

    func run() async throws {
        let root = try host.hostRoot()
        if try root.exists(Self.done) {
            try host.show(report: ["alreadyDone": Self.done.string],
                          text: "First boot was done already (\(Self.done)); nothing to do.\n")
            return
        }
        // The spec is the host's own file, so under --root it is read from the root.
        let specification = try HostSpec.load(try root.resolve(FilePath(spec)))
        // The marker is written only after success (the next boot retries a failure) and before a reboot.
        let report = try await applyAndShow(specification, from: spec, host)
        try FileSystem.createDirectories(root.resolve(Self.done).removingLastComponent())
        try AtomicWriter.write(Array("\(spec) applied by host-prepare \(Dom0Kit.version)\n".utf8), to: Self.done, in: root)
        if reboot && report.needsReboot { try await Reboot.now(root) }
    }
}

/// The one way host-prepare reboots: systemctl on the running host; under --root there is no host to
/// reboot. It says so on stderr: stdout holds the report (with --json, nothing else).
enum Reboot {
    static func now(_ root: HostRoot) async throws(Dom0Error) {
        var standardError = StandardError()
        guard root.isSystem else {
            print("(--reboot: not rebooting a host tree under --root)", to: &standardError)
            return
        }
        print("Rebooting for the new boot command lines.", to: &standardError)
        // stdout into the journal or a pipe is block-buffered, and stopping this service for the
        // reboot may kill us before exit flushes it: the report and this line would be lost.
        fflush(nil)  // every output stream, stdout among them
        try await CommandRunner().check(["systemctl", "reboot"])
    }
}

/// `host-prepare disk`: dom0-partition's commands.
struct DiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk", abstract: Dom0PartitionCommand.configuration.abstract,
        discussion: "The same commands as dom0-partition (see dom0-partition --help).",
        subcommands: Dom0PartitionCommand.configuration.subcommands)
}

/// `host-prepare pack`: supp-pack's commands.
struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack", abstract: SuppPackCommand.configuration.abstract,
        discussion: "The same commands as supp-pack (see supp-pack --help).",
        subcommands: SuppPackCommand.configuration.subcommands)
}

/// `host-prepare slice`: control-slice's commands.
struct SliceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slice", abstract: ControlSliceCommand.configuration.abstract,
        discussion: "The same commands as control-slice (see control-slice --help).",
        subcommands: ControlSliceCommand.configuration.subcommands)
}
