import ArgumentParser
import Dom0Core
import Logging
import SystemPackage

/// Options every tool takes: the host root, JSON output and verbosity.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Work on the host tree under DIR instead of this machine's root (/).",
                                             discussion: "A relative DIR is taken from the working directory; one that leads to / is refused (write / for this machine).",
                                             valueName: "DIR"))
    var root: String?

    @Flag(name: .long, help: "Print the result as JSON for scripts.")
    var json = false

    @Flag(name: .shortAndLong, help: "Log what happens (-v info, -vv debug) on stderr, or to the journal under systemd.")
    var verbose: Int

    /// The host root the options name.
    func hostRoot() throws(Dom0Error) -> HostRoot {
        guard let root, root != "/" else { return .system }
        let tree = try HostRoot(FilePath(root))
        // `../../..` from the wrong directory is this machine, not a tree: only "/" says so.
        guard !tree.isSystem else {
            throw Dom0Error(.usage, "--root leads to this machine's own root (/), not to a host tree", at: root.quotedForDisplay,
                            fix: "pass --root / to work on this machine itself, or the directory that holds the host tree")
        }
        return tree
    }

    /// What sysfs writes under `root` go to: the kernel (a test binary may stand in for it).
    func sysfs(for root: HostRoot) throws(Dom0Error) -> any SysfsWriter {
        try ToolEnvironment.current.sysfs(root)
    }

    /// Where every tool's plans apply: the host root, its sysfs and the tool runner.
    func applyContext() throws(Dom0Error) -> ApplyContext {
        let root = try hostRoot()
        return ApplyContext(root: root, sysfs: try sysfs(for: root))
    }

    /// The one way a tool's command carries out a plan: with `dryRun` it stops at the plan, else the
    /// plan is applied (an empty one too: "Nothing to do" is an apply that succeeded); then the
    /// outcome is shown — the report, the plan (`shownPlan`, by default `plan` itself) and the apply
    /// in the envelope, or `text` of the apply — and a failed step is the command's error.
    func carryOut(_ plan: Plan, report: (any Encodable)?, shownPlan: (any Encodable)? = nil, dryRun: Bool,
                  text: (ApplyReport?) -> String) async throws {
        var applied: ApplyReport?
        if !dryRun {
            let context = try applyContext()
            // Only changes take the host's lock: a get (an empty plan) answers even during an apply.
            applied = plan.changes.isEmpty ? await plan.apply(context)
                : try await context.root.whileLocked { () async throws(Dom0Error) -> ApplyReport in await plan.apply(context) }
        }
        try show(report: report, plan: shownPlan ?? plan, apply: applied, error: applied?.error, text: text(applied))
    }

    /// The log level for a count of `-v`.
    static func logLevel(verbosity: Int) -> Logger.Level {
        switch verbosity {
        case 0: .warning
        case 1: .info
        default: .debug
        }
    }
}
