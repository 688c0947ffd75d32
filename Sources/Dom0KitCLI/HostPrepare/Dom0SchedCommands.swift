import ArgumentParser
import BootConfig
import Dom0Core

/// `host-prepare dom0-sched`: Domain-0's weight in Xen's scheduler, which Xen forgets at every boot.
struct Dom0SchedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dom0-sched",
        abstract: "Keep Domain-0's weight (and cap) in Xen's scheduler across boots.",
        discussion: """
            Xen gives every domain weight 256; under load dom0's control plane then gets no more CPU \
            than any guest. Raising it (512 is the usual advice) is an xl command that Xen forgets at \
            the next boot:

              host-prepare dom0-sched set --weight 512   keep it for every boot, set it now
              host-prepare dom0-sched apply              set it now (what the unit runs)

            set writes \(Dom0Sched.path) and enables \(Dom0Sched.unit).

            The scheduler is the one `xl info` names: credit (xl sched-credit) or credit2, Xen's \
            default (xl sched-credit2); another has no weight and apply fails, saying so. \
            A host spec's dom0 section (weight, cap) does the same as set.
            """,
        subcommands: [Dom0SchedSet.self, Dom0SchedApply.self])
}

struct Dom0SchedSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Configure Domain-0's weight and cap for every boot, and set them now on a running dom0.",
        discussion: "Writes \(Dom0Sched.path) and enables \(Dom0Sched.unit) (under --root: the file and the "
            + "unit's link only). On this machine, when Xen answers and Domain-0 differs, they are set now too.")

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("Domain-0's weight, \(Dom0Sched.weightRange.lowerBound) to \(Dom0Sched.weightRange.upperBound) (Xen's default 256).",
                               valueName: "N"))
    var weight: Int?
    @Option(help: ArgumentHelp("A cap in percent of one CPU, 0 for none (\(Dom0Sched.capRange.lowerBound) to \(Dom0Sched.capRange.upperBound)).",
                               valueName: "PERCENT"))
    var cap: Int?
    @Flag(name: .customLong("dry-run"), help: "Show what would change; change nothing.") var dryRun = false

    func run() async throws {
        let wanted = try Dom0Sched(weight: weight, cap: cap, at: "--weight/--cap")
        let plan = try await Dom0SchedPlanner(root: try host.hostRoot(), runner: CommandRunner(dryRun: dryRun)).plan(wanted)
        try await host.carryOut(plan, report: wanted, dryRun: dryRun) { applied in
            if plan.isEmpty { return "Domain-0's \(wanted.summary) is configured: nothing to do\n" }
            return dryRun ? plan.text : (applied?.text ?? "")
        }
    }
}

struct Dom0SchedApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Set Domain-0's configured weight and cap in the scheduler Xen runs.",
        discussion: "Reads \(Dom0Sched.path); does nothing when Domain-0 already has them. Run by "
            + "\(Dom0Sched.unit) at every boot. Exit status: 0 set or already set, 1 failed (no Xen, "
            + "xenstored not up, a scheduler without weights), 64 no configuration.")

    @OptionGroup var host: HostOptions

    func run() async throws {
        guard host.root == nil || host.root == "/" else {
            throw Dom0Error(.usage, "apply sets the running Xen's scheduler: it takes no --root", fix: "run it in dom0")
        }
        guard let wanted = try Dom0Sched.load(.system) else {
            throw Dom0Error(.usage, "Domain-0 has no configured weight", at: Dom0Sched.path.string,
                            fix: "host-prepare dom0-sched set --weight 512 writes it")
        }
        let outcome = try await Dom0SchedSetter().apply(wanted)
        try host.show(outcome)
    }
}
