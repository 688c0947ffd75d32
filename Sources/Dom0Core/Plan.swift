import Glibc
import SystemPackage

/// A step of a kind only one part knows (formatting a partition through a loop device,
/// say): it describes itself for plans and carries itself out.
public protocol PlanStep: Sendable {
    /// The kind, as JSON names it ("formatPartition").
    var kind: String { get }
    /// Its parameters, shown in text and JSON.
    var details: [String: String] { get }
    /// What it does, in one line for people.
    var headline: String { get }
    /// Carries it out.
    func apply(_ context: ApplyContext) async throws(Dom0Error)
}

/// A part of the host Dom0Kit prepares, named as the host spec's section that describes it: one
/// library, one section of a host plan, one tool (or host-prepare command). Listed in the order
/// host-prepare prepares a host.
public enum HostPart: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The dom0 disk layout (dom0-partition).
    case disk
    /// Supplemental packs (supp-pack).
    case packs
    /// The Xen and dom0 boot command lines (xen-cmdline, host-prepare boot); the dom0 section's
    /// CPU keys are boot arguments, planned here.
    case boot
    /// Domain-0's weight and cap in Xen's scheduler, set at every boot: the dom0 section's
    /// scheduler keys (host-prepare dom0-sched).
    case dom0
    /// A native host's hugepages per NUMA node: their record and early unit (host-prepare hugepages).
    case hugepages
    /// control.slice and its members (control-slice).
    case controlSlice = "control_slice"
    /// The devices section's bind rules and pciback-agent's unit (the spec's agent section).
    case agent
    /// Binding the devices section's hidden devices now (pciback-agent).
    case devices

    public var description: String { rawValue }

    /// Whether what it changes takes effect only at the next boot.
    public var takesEffectAtBoot: Bool { self == .boot }
}

/// One step a plan would take on the host.
public struct Change: Sendable, Equatable {
    /// What the step does.
    public enum Action: Sendable, Equatable {
        /// Create or replace a file with `content` (a new file gets `mode`).
        case writeFile(content: [UInt8], mode: mode_t)
        /// Delete a file.
        case deleteFile
        /// Write `value` to a sysfs attribute.
        case writeAttribute(value: String)
        /// Run a tool, with `input` on its standard input.
        case runTool(argv: [String], input: String? = nil)
        /// A part's own kind of step.
        case custom(any PlanStep)

        public static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case let (.writeFile(c1, m1), .writeFile(c2, m2)): c1 == c2 && m1 == m2
            case (.deleteFile, .deleteFile): true
            case let (.writeAttribute(v1), .writeAttribute(v2)): v1 == v2
            case let (.runTool(a1, i1), .runTool(a2, i2)): a1 == a2 && i1 == i2
            case let (.custom(s1), .custom(s2)): s1.kind == s2.kind && s1.details == s2.details
            default: false
            }
        }
    }

    /// The part of the host the step prepares.
    public var part: HostPart
    /// Why, in words an operator understands.
    public var summary: String
    /// The host path it touches (none for a tool run).
    public var path: FilePath?
    /// What it does.
    public var action: Action
    /// The content the file had when planned (nil when it did not exist); apply refuses to
    /// overwrite a file that changed since, so a plan never clobbers an edit made meanwhile.
    public var previous: [UInt8]?

    /// A file change, or nil when the host file already has exactly that content.
    public static func file(_ hostPath: FilePath, content: [UInt8], mode: mode_t = 0o644, in root: HostRoot,
                            part: HostPart, summary: String) throws(Dom0Error) -> Change? {
        let current = try root.read(hostPath)
        if current == content { return nil }
        return Change(part: part, summary: summary, path: hostPath,
                      action: .writeFile(content: content, mode: mode), previous: current)
    }

    /// A deletion, or nil when the file is already gone.
    public static func delete(_ hostPath: FilePath, in root: HostRoot, part: HostPart, summary: String) throws(Dom0Error) -> Change? {
        guard let current = try root.read(hostPath) else { return nil }
        return Change(part: part, summary: summary, path: hostPath, action: .deleteFile, previous: current)
    }

    /// A sysfs attribute write.
    public static func attribute(_ hostPath: FilePath, value: String, part: HostPart, summary: String) -> Change {
        Change(part: part, summary: summary, path: hostPath, action: .writeAttribute(value: value))
    }

    /// A tool run, with optional standard input.
    public static func tool(_ argv: [String], input: String? = nil, part: HostPart, summary: String) -> Change {
        Change(part: part, summary: summary, path: nil, action: .runTool(argv: argv, input: input))
    }

    /// A part's own step.
    public static func step(_ step: any PlanStep, part: HostPart, summary: String) -> Change {
        Change(part: part, summary: summary, path: nil, action: .custom(step))
    }

    /// The kind, as JSON and text name it.
    public var kind: String {
        switch action {
        case .writeFile: previous == nil ? "createFile" : "replaceFile"
        case .deleteFile: "deleteFile"
        case .writeAttribute: "writeAttribute"
        case .runTool: "runTool"
        case .custom(let step): step.kind
        }
    }

    /// The unified diff of a file change; nil for other kinds.
    public var diff: String? {
        switch action {
        case .writeFile(let content, _): UnifiedDiff.make(old: previous, new: content, path: path?.string ?? "")
        case .deleteFile: UnifiedDiff.make(old: previous, new: nil, path: path?.string ?? "")
        case .writeAttribute, .runTool, .custom: nil
        }
    }
}

extension Change: Encodable {
    // "module": the JSON's name for the part since dom0kit/1 began (docs/json.md).
    private enum Key: String, CodingKey { case kind, module, summary, path, diff, value, argv, input, details }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(part, forKey: .module)
        try container.encode(summary, forKey: .summary)
        try container.encodeIfPresent(path?.string, forKey: .path)
        try container.encodeIfPresent(diff, forKey: .diff)
        switch action {
        case .writeAttribute(let value): try container.encode(value, forKey: .value)
        case .runTool(let argv, let input):
            try container.encode(argv, forKey: .argv)
            try container.encodeIfPresent(input, forKey: .input)
        case .custom(let step): try container.encode(step.details, forKey: .details)
        case .writeFile, .deleteFile: break
        }
    }
}

/// An ordered list of changes: computed first, shown, then applied in order.
public struct Plan: Sendable, Equatable, Encodable {
    /// The steps, in the order they run.
    public var changes: [Change]

    /// A plan of these changes.
    public init(_ changes: [Change] = []) { self.changes = changes }

    /// Whether there is nothing to do.
    public var isEmpty: Bool { changes.isEmpty }

    /// Adds a step; a nil (nothing to change) is ignored, so planners can pass `Change.file(…)` straight in.
    public mutating func add(_ change: Change?) {
        if let change { changes.append(change) }
    }

    private enum Key: String, CodingKey { case changes }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(changes, forKey: .changes)
    }
}

/// Where a plan is applied: the host root, the tool runner and the sysfs writer.
public struct ApplyContext: Sendable {
    /// The host tree.
    public var root: HostRoot
    /// Runs tools.
    public var runner: CommandRunner
    /// Writes sysfs attributes (the kernel, or a fake host's simulator).
    public var sysfs: any SysfsWriter
    /// Keep the previous content of replaced files beside them.
    public var backups: Bool

    /// A context; by default the real kernel's sysfs and no backups.
    public init(root: HostRoot, runner: CommandRunner = CommandRunner(), sysfs: any SysfsWriter = KernelSysfs(),
                backups: Bool = false) {
        self.root = root
        self.runner = runner
        self.sysfs = sysfs
        self.backups = backups
    }
}

/// What applying a plan did: the steps done, the one that failed and why, and those not attempted.
public struct ApplyReport: Sendable, Encodable {
    /// The steps that completed, in order.
    public var done: [Change] = []
    /// The step that failed, if any.
    public var failed: Change?
    /// Why it failed.
    public var error: Dom0Error?
    /// The steps after the failure, not attempted.
    public var notDone: [Change] = []

    /// Whether every step completed.
    public var succeeded: Bool { failed == nil }

    private enum Key: String, CodingKey { case succeeded, done, failed, error, notDone }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(done, forKey: .done)
        try container.encodeIfPresent(failed, forKey: .failed)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(notDone, forKey: .notDone)
    }
}

extension Plan {
    /// Runs the steps in order and stops at the first failure; `afterEach` hears of each step
    /// done (its number from 1), before the next starts, so a journal can record progress.
    public func apply(_ context: ApplyContext, afterEach: (Int) throws(Dom0Error) -> Void = { _ in }) async -> ApplyReport {
        var report = ApplyReport()
        for (index, change) in changes.enumerated() {
            do {
                try await change.apply(context)
                report.done.append(change)
                try afterEach(index + 1)
            } catch {
                report.failed = change
                report.error = error
                report.notDone = Array(changes[(index + 1)...])
                break
            }
        }
        return report
    }
}

extension Change {
    /// Carries out this one step.
    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        switch action {
        case .writeFile(let content, let mode):
            let path = try requirePath()
            try checkUnchangedSincePlanned(path, context.root)
            try FileSystem.createDirectories(context.root.resolve(path).removingLastComponent())
            try AtomicWriter.write(content, to: path, in: context.root, mode: mode, backup: context.backups)
        case .deleteFile:
            let path = try requirePath()
            try checkUnchangedSincePlanned(path, context.root)
            try AtomicWriter.delete(path, in: context.root)
        case .writeAttribute(let value):
            try context.sysfs.write(value, to: requirePath(), in: context.root)
        case .runTool(let argv, let input):
            try await context.runner.check(argv, input: input.map { Array($0.utf8) })
        case .custom(let step):
            try await step.apply(context)
        }
    }

    private func requirePath() throws(Dom0Error) -> FilePath {
        guard let path else { throw Dom0Error("a \(kind) step has no path", why: "the plan is malformed") }
        return path
    }

    private func checkUnchangedSincePlanned(_ path: FilePath, _ root: HostRoot) throws(Dom0Error) {
        guard try root.read(path) == previous else {
            throw Dom0Error(.refused, "the file changed after the plan was made", at: path.string,
                            fix: "plan again and review the new diff")
        }
    }
}

/// Removes a directory if it is empty; one holding anything else is left alone.
public struct RemoveEmptyDirectory: PlanStep {
    /// The directory (host path).
    public var path: String

    /// A step removing `path` if it is empty.
    public init(path: String) { self.path = path }

    public var kind: String { "removeEmptyDirectory" }
    public var details: [String: String] { ["path": path] }
    public var headline: String { "remove the directory \(path) if empty" }

    public func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let real = try context.root.resolve(FilePath(path))
        guard try FileSystem.status(real)?.isDirectory == true, try FileSystem.entries(real).isEmpty else { return }
        try FileSystem.removeTree(real)
    }
}
