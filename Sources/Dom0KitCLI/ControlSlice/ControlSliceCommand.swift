import ArgumentParser
import ControlSlice
import Dom0Core
import SystemPackage

/// `control-slice`: the control.slice and its members' drop-ins.
struct ControlSliceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-slice",
        abstract: Tool.controlSlice.summary,
        discussion: """
            Writes /etc/systemd/system/control.slice with CPUWeight= (XenServer's CPUShares=10240 is \
            CPUWeight=1000; CPUShares= only on a cgroup-v1 host whose systemd predates CPUWeight=) and, \
            for each member unit the host has, <unit>.d/50-dom0kit-slice.conf with [Service] \
            Slice=control.slice. A record in /var/lib/dom0kit lets `remove` delete exactly that.

            Configuration: /etc/dom0kit/control-slice.conf, systemd-style:
              [Slice]
              Name=control.slice
              CPUWeight=1000          (or CPUShares=10240; optional StartupCPUWeight=, MemoryMin=, IOWeight=)
              [Members]
              Units=xapi.service sshd.service   (repeatable; an empty Units= resets)
            Without it: control.slice, weight 1000, and the control-plane units present among \
            xapi, xenopsd-xc, xcp-networkd, xcp-rrdd, squeezed, v6d, message-switch, forkexecd, \
            xenstored, oxenstored, cxenstored, xenconsoled, perfmon, sshd. --slice, --weight, \
            --shares and --unit override it.

            Exit status: 0 done or nothing to do, 1 failed, 64 usage error (a bad config names file and line).
            """,
        version: Dom0Kit.version,
        subcommands: [SlicePlan.self, SliceApply.self, SliceRemove.self, SliceGenerate.self, SliceStatusCommand.self])
}

/// The config file and the flags that override it.
struct SliceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The slice's name.", valueName: "NAME")) var slice: String?
    // .unconditional: "-5" is the value, out of range, not an unknown option ("Missing value").
    @Option(parsing: .unconditional, help: ArgumentHelp("CPU weight, 1 to 10000.", valueName: "N")) var weight: Int?
    @Option(parsing: .unconditional,
            help: ArgumentHelp("CPU shares, 2 to 262144, converted to a weight as systemd converts them.", valueName: "N"))
    var shares: Int?
    @Option(name: .customLong("unit"), help: ArgumentHelp("A member unit (repeatable); replaces the configured members.", valueName: "NAME"))
    var units: [String] = []

    func validate() throws {
        if weight != nil && shares != nil { throw ValidationError("give --weight or --shares, not both") }
        if let weight, !CPUWeight.range.contains(weight) { throw ValidationError("--weight takes 1 to 10000") }
        if let shares, !CPUWeight.sharesRange.contains(shares) { throw ValidationError("--shares takes 2 to 262144") }
    }

    /// The configuration: the file (or the defaults) with the flags applied.
    func config(_ root: HostRoot) throws(Dom0Error) -> SliceConfig {
        var config = try SliceConfig.load(from: root) ?? SliceConfig()
        if let slice { config.name = try SliceConfig.sliceName(slice, at: "--slice") }
        if let weight { config.cpuWeight = weight }
        if let shares { config.cpuWeight = CPUWeight.fromShares(shares) }
        if !units.isEmpty { config.members = try units.map { unit throws(Dom0Error) in try SliceConfig.unitName(unit, at: "--unit") } }
        return config
    }
}

extension HostOptions {
    /// Carries out a slice plan and shows it: the members and the host's systemd first, for people.
    fileprivate func carryOut(_ plan: Plan, files: SliceFiles?, dryRun: Bool, afterward: String? = nil) async throws {
        try await carryOut(plan, report: files, dryRun: dryRun) { applied in
            var text = ""
            if let files {
                text += "Members: " + (files.members.isEmpty ? "none present" : files.members.joined(separator: " ")) + "\n"
                if !files.missing.isEmpty { text += "Not on this host (not written): " + files.missing.joined(separator: " ") + "\n" }
                text += "cgroup v\(files.host.cgroupVersion), systemd \(files.host.systemdVersion.map(String.init) ?? "version unknown"): "
                    + (files.host.writesShares ? "CPUShares=" : "CPUWeight=") + "\n"
            }
            let next = applied?.succeeded == true ? afterward.map { "\($0)\n" } : nil
            return text + (applied?.text ?? plan.text) + (next ?? "")
        }
    }
}

struct SlicePlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Show what apply would write.")
    @OptionGroup var host: HostOptions
    @OptionGroup var slice: SliceOptions
    @Flag(name: .customLong("dry-run"), help: "Accepted for symmetry with apply and remove: plan never writes.") var dryRun = false

    func run() async throws {
        let root = try host.hostRoot()
        let (plan, files) = try SlicePlanner(root: root).planApply(try slice.config(root))
        try await host.carryOut(plan, files: files, dryRun: true)
    }
}

extension SliceRestart: ExpressibleByArgument {}

struct SliceApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Write the slice and drop-ins; on a live host, reload systemd.",
        discussion: "Members move into the slice at their next restart unless --restart members (or slice) restarts them now.")
    @OptionGroup var host: HostOptions
    @OptionGroup var slice: SliceOptions
    @Option(help: "none, slice or members.") var restart: SliceRestart = .none
    @Flag(name: .customLong("dry-run"), help: "Show what would be written; change nothing.") var dryRun = false

    func run() async throws {
        let root = try host.hostRoot()
        let config = try slice.config(root)
        let (plan, files) = try SlicePlanner(root: root).planApply(config, restart: restart)
        let afterward = !dryRun && restart == .none && !plan.isEmpty
            ? "Members move into \(config.name) at their next restart (or run with --restart members)." : nil
        try await host.carryOut(plan, files: files, dryRun: dryRun, afterward: afterward)
    }
}

struct SliceRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete exactly what apply wrote.")
    @OptionGroup var host: HostOptions
    @Flag(name: .customLong("dry-run"), help: "Show what would be deleted; change nothing.") var dryRun = false

    func run() async throws {
        try await host.carryOut(try SlicePlanner(root: try host.hostRoot()).planRemove(), files: nil, dryRun: dryRun)
    }
}

struct SliceGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Write the slice and drop-ins into a directory, as the systemd generator does.")
    @OptionGroup var host: HostOptions
    @OptionGroup var slice: SliceOptions
    @Argument(help: ArgumentHelp("The output directory.", valueName: "OUTDIR")) var directory: String

    func run() async throws {
        let root = try host.hostRoot()
        let files = try SlicePlanner(root: root).generate(try slice.config(root), into: FilePath(directory))
        try host.show(report: files, text: files.files.keys.sorted().map { "\($0)\n" }.joined())
    }
}

struct SliceStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Configured against live weight, and where members run.")
    @OptionGroup var host: HostOptions
    @OptionGroup var slice: SliceOptions

    func run() async throws {
        let root = try host.hostRoot()
        let config = try slice.config(root)
        let members = try SlicePlanner(root: root).render(config).members
        try host.show(try SliceStatus.read(config, members: members, root: root))
    }
}

/// systemd's generator: `control-slice-generator NORMAL-DIR [EARLY-DIR LATE-DIR]`.
struct ControlSliceGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-slice-generator",
        abstract: Tool.controlSliceGenerator.summary,
        discussion: "Installed in systemd's system-generators directory. Reads /etc/dom0kit/control-slice.conf; "
            + "without it, writes nothing and exits 0.",
        version: Dom0Kit.version)
    @Argument(help: ArgumentHelp("The generator directories systemd passes.", valueName: "DIR")) var directories: [String]

    func validate() throws {
        if directories.isEmpty || directories.count > 3 { throw ValidationError("expected 1 to 3 directories, as systemd passes them") }
    }

    func run() async throws {
        guard let config = try SliceConfig.load(from: .system) else { return }
        _ = try SlicePlanner(root: .system).generate(config, into: FilePath(directories[0]))
    }
}
