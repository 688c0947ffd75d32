import Dom0Core
import FoundationEssentials
import Logging
import SystemPackage

/// The record of an apply in progress, kept in the host so that the next apply after a crash or
/// power loss knows one was cut short. Every step is idempotent and planning reads the host as it
/// is, so finishing the job is planning again and applying what is left; the journal says what
/// was done and where it stopped.
public struct ApplyJournal: Sendable, Codable, Equatable {
    /// Where it is kept, under the host root.
    public static let path: FilePath = "/var/lib/dom0kit/host-prepare.journal"

    /// The spec applied.
    public var spec: String
    /// Each step, as `module: summary`.
    public var steps: [String]
    /// How many steps are done.
    public var done: Int
    /// Why it stopped, when a step failed.
    public var failure: String?

    /// The journal an earlier apply left, if any.
    public static func read(_ root: HostRoot) throws(Dom0Error) -> ApplyJournal? {
        guard let bytes = try root.read(path) else { return nil }
        do {
            return try JSONDecoder().decode(ApplyJournal.self, from: Data(bytes))
        } catch {
            throw Dom0Error("the apply journal is damaged", at: path.string, why: "\(error)",
                            fix: "delete it; the next apply plans from the host as it is")
        }
    }

    /// Writes it durably (the atomic writer fsyncs the file and its directory).
    func write(_ root: HostRoot) throws(Dom0Error) {
        try FileSystem.createDirectories(root.resolve(Self.path).removingLastComponent())
        try AtomicWriter.write(Array(try Output.json(self).utf8), to: Self.path, in: root)
    }

    /// One line for people: "stopped after step 3 of 7 (boot: …)".
    public var summary: String {
        let last = done > 0 && done <= steps.count ? " (last done: \(steps[done - 1]))" : ""
        return "an apply of \(spec) stopped after step \(done) of \(steps.count)\(last)" + (failure.map { ": \($0)" } ?? "")
    }
}

/// What `host-prepare apply` did.
public struct HostApplyReport: Sendable, TextReport {
    /// The cut-short apply this one finished, if there was one.
    public var resumed: ApplyJournal?
    public var plan: HostPlan
    /// nil when there was nothing to do.
    public var apply: ApplyReport?

    public var nothingToDo: Bool { plan.isEmpty }
    public var succeeded: Bool { apply?.succeeded ?? true }
    /// A boot command line changed: the host needs a reboot for it.
    public var needsReboot: Bool { plan.needsReboot && succeeded }
    /// The failed step as people read it — "step N of M failed: module: summary: error", with the
    /// error's fix — for the log and the report alike; nil when nothing failed.
    public var failure: String? { failedStep?.description }

    /// The failed step's error, its what prefixed with the step ("step N of M failed: module:
    /// summary: …"), for the JSON envelope's `error`; nil when nothing failed.
    public var failedStep: Dom0Error? {
        guard let apply, let failed = apply.failed, var error = apply.error else { return nil }
        let steps = apply.done.count + 1 + apply.notDone.count
        error.what = "step \(apply.done.count + 1) of \(steps) failed: \(failed.part): \(failed.summary): \(error.what)"
        return error
    }

    // The plan, the apply and the failure are the envelope's own fields (docs/json.md).
    private enum Key: String, CodingKey { case resumed, nothingToDo, succeeded, needsReboot }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(resumed, forKey: .resumed)
        try container.encode(nothingToDo, forKey: .nothingToDo)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(needsReboot, forKey: .needsReboot)
    }
}

/// Applies a spec: plan, then each step with the journal updated after it.
public struct HostApplier: Sendable {
    static let logger = Logger(label: "dom0kit.host-prepare")

    /// A step's structured fields for the journal.
    static func fields(_ change: Change, _ number: Int, _ steps: Int, _ id: String) -> Logger.Metadata {
        ["MESSAGE_ID": "\(id)", "module": "\(change.part)", "step": "\(number)", "steps": "\(steps)", "kind": "\(change.kind)",
         "summary": "\(change.summary)"]
    }

    public var context: ApplyContext
    /// Called with N right after step N is recorded done (tests stop the process there, as a
    /// power cut would, to prove the next apply finishes the job).
    public var afterStep: (@Sendable (Int) -> Void)?

    public init(context: ApplyContext, afterStep: (@Sendable (Int) -> Void)? = nil) {
        self.context = context
        self.afterStep = afterStep
    }

    /// Applies `spec` (read from `specPath`, which the journal names), holding the host's lock
    /// from the plan to the last step: a second apply refuses (within seconds) instead of
    /// failing midway on files the first one changed after it planned.
    public func apply(_ spec: HostSpec, from specPath: String) async throws(Dom0Error) -> HostApplyReport {
        try await context.root.whileLocked { () async throws(Dom0Error) -> HostApplyReport in
            try await applyLocked(spec, from: specPath)
        }
    }

    private func applyLocked(_ spec: HostSpec, from specPath: String) async throws(Dom0Error) -> HostApplyReport {
        let root = context.root
        let previous = try ApplyJournal.read(root)
        let host = try await HostPlanner(root: root, runner: context.runner).plan(spec)
        guard !host.isEmpty else {
            if previous != nil { try AtomicWriter.delete(ApplyJournal.path, in: root) }
            return HostApplyReport(resumed: previous, plan: host, apply: nil)
        }
        let plan = host.plan
        var journal = ApplyJournal(spec: specPath, steps: plan.changes.map { "\($0.part): \($0.summary)" }, done: 0)
        try journal.write(root)
        let steps = plan.changes.count
        var report = await plan.apply(context) { done throws(Dom0Error) in
            journal.done = done
            try journal.write(root)
            let change = plan.changes[done - 1]
            Self.logger.notice("step \(done) of \(steps) done: \(change.part): \(change.summary)",
                               metadata: Self.fields(change, done, steps, MessageID.stepDone))
            afterStep?(done)
        }
        report.error = report.error?.told(through: .spec)
        if report.succeeded {
            try AtomicWriter.delete(ApplyJournal.path, in: root)
            Self.logger.notice("applied \(specPath): \(steps) steps", metadata: ["MESSAGE_ID": "\(MessageID.applied)",
                                                                                  "spec": "\(specPath)", "steps": "\(steps)"])
        }
        let hostReport = HostApplyReport(resumed: previous, plan: host, apply: report)
        if let failed = report.failed, let failure = hostReport.failure {
            journal.failure = report.error?.description
            try journal.write(root)
            Self.logger.error("\(failure)", metadata: Self.fields(failed, report.done.count + 1, steps, MessageID.stepFailed))
        }
        return hostReport
    }
}
