import Dom0Core
import Logging
import SystemPackage

/// Domain-0's parameters in Xen's scheduler — its weight, and optionally a cap — which Xen
/// forgets at every boot. host-prepare keeps them in /etc/dom0kit/dom0-sched.conf and
/// host-prepare-dom0-sched.service sets them at every boot (`host-prepare dom0-sched apply`).
public struct Dom0Sched: Sendable, Equatable, Encodable {
    /// The configuration file, under the host root.
    public static let path: FilePath = "/etc/dom0kit/dom0-sched.conf"
    /// The unit that sets them at boot.
    public static let unit = "host-prepare-dom0-sched.service"
    /// A credit or credit2 weight; Xen's default is 256.
    public static let weightRange: ClosedRange<Int> = 1...65535
    /// A cap, in percent of one CPU; 0 is none.
    public static let capRange: ClosedRange<Int> = 0...65535

    public var weight: Int?
    public var cap: Int?

    /// Either or both; values in range.
    public init(weight: Int?, cap: Int?, at location: String? = nil) throws(Dom0Error) {
        guard weight != nil || cap != nil else {
            throw Dom0Error(.usage, "neither a weight nor a cap for Domain-0", at: location, fix: "give a weight, as 512")
        }
        for (name, value, range) in [("weight", weight, Self.weightRange), ("cap", cap, Self.capRange)] {
            if let value, !range.contains(value) {
                throw Dom0Error(.usage, "Domain-0's \(name) \(value) is out of range", at: location,
                                fix: "use \(range.lowerBound) to \(range.upperBound)")
            }
        }
        self.weight = weight
        self.cap = cap
    }

    /// Reads the configuration under `root`; nil when there is none.
    public static func load(_ root: HostRoot) throws(Dom0Error) -> Dom0Sched? {
        guard let text = try root.readText(path) else { return nil }
        return try parse(text, file: path.string)
    }

    /// Parses `Weight=N` and `Cap=N` lines (comments with #); errors name the file and line.
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> Dom0Sched {
        var weight: Int?, cap: Int?
        let fix = "the file holds Weight=\(weightRange.lowerBound)…\(weightRange.upperBound) and Cap=\(capRange.lowerBound)…\(capRange.upperBound) lines; host-prepare dom0-sched set writes it"
        for line in try KeyValueLine.lines(of: text, file: file, fix: fix) {
            let (key, text, location) = (line.key, line.value, line.location)
            let range: ClosedRange<Int>
            switch key {
            case "Weight": range = weightRange
            case "Cap": range = capRange
            default: throw Dom0Error(.usage, "unknown key \(key.quotedForDisplay)", at: location, fix: fix)
            }
            guard case .success(let value) = Int.parseWhole(text), range.contains(value) else {
                throw Dom0Error(.usage, "\(key)=\(text.quotedForDisplay) is not a whole number from \(range.lowerBound) to \(range.upperBound)",
                                at: location, fix: fix)
            }
            if key == "Weight" { weight = value } else { cap = value }
        }
        return try Dom0Sched(weight: weight, cap: cap, at: file)
    }

    /// The file host-prepare writes.
    public var fileText: String {
        "# Domain-0's parameters in Xen's scheduler, which Xen forgets at every boot: " + Self.unit + "\n"
            + "# sets them (host-prepare dom0-sched apply). Written by host-prepare dom0-sched set or a host spec's dom0 section.\n"
            + (weight.map { "Weight=\($0)\n" } ?? "") + (cap.map { "Cap=\($0)\n" } ?? "")
    }

    /// Whether Domain-0's live parameters are these (a cap not given may be anything).
    public func isMet(by live: SchedParameters) -> Bool {
        (weight == nil || weight == live.weight) && (cap == nil || cap == live.cap)
    }

    /// "weight 512, cap 0".
    public var summary: String {
        [weight.map { "weight \($0)" }, cap.map { "cap \($0)" }].compactMap { $0 }.joined(separator: ", ")
    }
}

/// A domain's parameters as `xl sched-credit -d` or `xl sched-credit2 -d` shows them.
public struct SchedParameters: Sendable, Equatable, Encodable {
    public var weight: Int
    public var cap: Int?

    public init(weight: Int, cap: Int?) {
        self.weight = weight
        self.cap = cap
    }

    /// Parses xl's table: a header naming Weight (and Cap), and the domain's row.
    public init?(xlTable text: String) {
        let lines = text.split(separator: "\n").map(xlColumns)
        guard let header = lines.firstIndex(where: { $0.contains("Weight") }), header + 1 < lines.count else { return nil }
        let names = lines[header], row = lines[header + 1]
        // Aligned from the right: the name column is the only one that could hold a space.
        func field(_ name: Substring) -> Int? {
            guard let index = names.lastIndex(of: name), row.count >= names.count - index else { return nil }
            return Int(row[row.count - (names.count - index)])
        }
        guard let weight = field("Weight") else { return nil }
        self.init(weight: weight, cap: field("Cap"))
    }
}

/// The schedulers that have a weight, and the xl command of each.
public enum WeightedScheduler: String, Sendable, CaseIterable {
    case credit, credit2

    /// `sched-credit` or `sched-credit2`.
    public var command: String { "sched-\(rawValue)" }

    /// The scheduler `xl info` names, or a refusal naming it.
    public static func running(_ facts: XenFacts) throws(Dom0Error) -> WeightedScheduler {
        guard let name = facts.infoField("xen_scheduler") else {
            throw Dom0Error(.failed, "cannot tell which scheduler Xen runs", why: facts.unavailable ?? "xl info has no xen_scheduler",
                            fix: "run it in dom0 once xenstored is up (the unit is ordered after xen-init-dom0)")
        }
        guard let scheduler = WeightedScheduler(rawValue: name) else {
            throw Dom0Error(.failed, "Xen runs the \(name) scheduler, which has no weight for Domain-0", at: "xl info: xen_scheduler",
                            fix: "boot Xen with its default, credit2 (or sched=credit), or take the weight out of the configuration")
        }
        return scheduler
    }
}

/// Sets Domain-0's parameters in the scheduler Xen runs, through xl; idempotent.
public struct Dom0SchedSetter: Sendable {
    static let logger = Logger(label: "dom0kit.dom0-sched")

    public var runner: CommandRunner

    public init(runner: CommandRunner = CommandRunner()) {
        self.runner = runner
    }

    /// What setting did.
    public struct Outcome: Sendable, TextReport {
        public var scheduler: String
        public var before: SchedParameters
        public var after: SchedParameters
        public var changed: Bool

        public var text: String {
            let now = "Domain-0: weight \(after.weight)" + (after.cap.map { ", cap \($0)" } ?? "") + " in Xen's \(scheduler) scheduler"
            return changed ? "\(now) (was weight \(before.weight)" + (before.cap.map { ", cap \($0)" } ?? "") + ")\n"
                : "\(now), as configured: nothing to do\n"
        }
    }

    /// Domain-0's live parameters and the scheduler they belong to.
    public func live() async throws(Dom0Error) -> (WeightedScheduler, SchedParameters) {
        let info = try await xl(["info"])
        let scheduler = try WeightedScheduler.running(XenFacts(info: info, dmesg: nil))
        let table = try await xl([scheduler.command, "-d", "0"])
        guard let parameters = SchedParameters(xlTable: table) else {
            throw Dom0Error(.failed, "cannot read Domain-0's weight", at: "xl \(scheduler.command) -d 0", why: "found \(table.quotedForDisplay)",
                            fix: "report this xl version's output to Dom0Kit")
        }
        return (scheduler, parameters)
    }

    /// Sets what `wanted` gives, unless Domain-0 already has it; then reads it back.
    public func apply(_ wanted: Dom0Sched) async throws(Dom0Error) -> Outcome {
        let (scheduler, before) = try await live()
        guard !wanted.isMet(by: before) else {
            return Outcome(scheduler: scheduler.rawValue, before: before, after: before, changed: false)
        }
        var argv = [scheduler.command, "-d", "0"]
        if let weight = wanted.weight { argv += ["-w", "\(weight)"] }
        if let cap = wanted.cap { argv += ["-c", "\(cap)"] }
        _ = try await xl(argv, effect: .mutating)
        let (_, after) = try await live()
        guard wanted.isMet(by: after) else {
            throw Dom0Error(.failed, "Xen did not take Domain-0's \(wanted.summary)", at: "xl " + argv.joined(separator: " "),
                            why: "it reads back weight \(after.weight)" + (after.cap.map { ", cap \($0)" } ?? ""),
                            fix: "see xl dmesg")
        }
        Self.logger.notice("Domain-0's \(wanted.summary) set in Xen's \(scheduler.rawValue) scheduler",
                           metadata: ["MESSAGE_ID": "\(MessageID.dom0Sched)", "scheduler": "\(scheduler.rawValue)",
                                      "weight": "\(after.weight)", "cap": "\(after.cap.map(String.init) ?? "")"])
        return Outcome(scheduler: scheduler.rawValue, before: before, after: after, changed: true)
    }

    private func xl(_ arguments: [String], effect: CommandRunner.Effect = .readOnly) async throws(Dom0Error) -> String {
        let result = try await runner.run(["xl"] + arguments, effect: effect, timeout: .seconds(20))
        guard result.succeeded else {
            throw Dom0Error(.failed, "xl \(arguments.joined(separator: " ")) failed", why: result.stderr.trimmingTrailingWhitespace,
                            fix: "run it in Xen's dom0 with xenstored up")
        }
        return result.stdout
    }
}

/// Plans Domain-0's scheduler parameters: the configuration file, the unit that sets them at
/// every boot, and — on a running dom0 whose parameters differ — setting them now.
public struct Dom0SchedPlanner: Sendable {
    public var root: HostRoot
    public var runner: CommandRunner

    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    public func plan(_ wanted: Dom0Sched) async throws(Dom0Error) -> Plan {
        var plan = Plan()
        plan.add(try Change.file(Dom0Sched.path, content: Array(wanted.fileText.utf8), in: root, part: .dom0,
                                 summary: "Domain-0's scheduler parameters (\(wanted.summary))"))
        let enabling = try await UnitEnabling.plan(Dom0Sched.unit, root: root, runner: runner, part: .dom0,
                                                   fix: "install Dom0Kit's units (installer/install.sh) or drop dom0.weight and dom0.cap from the spec")
        plan.changes += enabling
        // A unit started now sets them itself. Otherwise, when Xen can be asked (a running dom0
        // with xenstored up) and Domain-0 differs, set them now; when it cannot, the unit will.
        if enabling.isEmpty, root.isSystem,
           case let (_, live)? = try? await Dom0SchedSetter(runner: runner).live(), !wanted.isMet(by: live) {
            plan.add(.step(SetDom0Sched(wanted: wanted), part: .dom0, summary: "in Xen's scheduler now"))
        }
        return plan
    }
}

/// Setting Domain-0's parameters in the running scheduler, as the unit does at boot.
struct SetDom0Sched: PlanStep {
    var wanted: Dom0Sched

    var kind: String { "setDom0Sched" }
    var details: [String: String] {
        ["weight": wanted.weight.map(String.init) ?? "", "cap": wanted.cap.map(String.init) ?? ""]
    }
    var headline: String { "set Domain-0's \(wanted.summary)" }

    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        _ = try await Dom0SchedSetter(runner: context.runner).apply(wanted)
    }
}
