import Dom0Core
import SystemPackage

/// Plans pciback-agent's part of a host: its rules file, its unit enabled for boot, and the hidden
/// devices bound now rather than at the next udev event.
public struct AgentPlanner: Sendable {
    /// The unit that runs the agent.
    public static let unit = "pciback-agent.service"

    public var root: HostRoot
    public var runner: CommandRunner

    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    /// The rules file holding `rules` (when given) and, with `enable`, the unit enabled — and, on
    /// the running system, started (a root being prepared offline only gets the link).
    public func planSetup(rules: [BindRule]?, enable: Bool) async throws(Dom0Error) -> Plan {
        var plan = Plan()
        if let rules {
            let file = BindRules.configFile(rules, header: "Written by host-prepare from its host spec; edit the spec, not this file.")
            plan.add(try Change.file(BindRules.path, content: Array(file.utf8), in: root, part: .agent, summary: "pciback-agent's rules"))
        }
        guard enable else { return plan }
        plan.changes += try await UnitEnabling.plan(Self.unit, root: root, runner: runner, part: .agent,
                                                    fix: "install Dom0Kit's units (installer/install.sh) or drop agent.enable from the spec")
        return plan
    }

    /// The devices `rules` (with the running command line's) hide that are not yet on their
    /// drivers, bound by one pass of the agent: what a dry-run pass finds now.
    public func planBinding(rules: [BindRule]) async throws(Dom0Error) -> Plan {
        let set = try BindRules.load(root, configured: rules)
        let pass = try await Reconciler(binder: Binder(root: root, runner: runner), dryRun: true).reconcile(rules: set)
        let pending = pass.devices.filter { $0.outcome == .pending }.map(\.bdf)
        guard !pending.isEmpty else { return Plan() }
        return Plan([.step(BindHiddenDevices(devices: pending, rules: set), part: .devices, summary: "as pciback-agent once would")])
    }
}

/// A pass of pciback-agent over the devices the plan found pending, by the rules it planned with:
/// what apply binds is what the plan showed, whatever another step wrote in between.
struct BindHiddenDevices: PlanStep {
    var devices: [BDF]
    var rules: BindRuleSet

    var kind: String { "bindDevices" }
    var details: [String: String] { ["devices": devices.map(\.description).joined(separator: " ")] }
    var headline: String { "bind " + devices.map(\.description).joined(separator: ", ") }

    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let binder = Binder(root: context.root, sysfs: context.sysfs, runner: context.runner)
        let report = try await Reconciler(binder: binder).reconcile(only: Set(devices), rules: rules)
        let unbound = report.devices.filter { $0.outcome != .bound && $0.outcome != .alreadyBound }
        guard unbound.isEmpty else {
            throw Dom0Error(.failed, "not every hidden device could be bound",
                            why: unbound.map { "\($0.bdf): \($0.message)" }.joined(separator: "; "),
                            fix: "see pciback-agent health; fix the rules in the spec")
        }
    }
}
