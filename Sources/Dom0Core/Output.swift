import Glibc
import FoundationEssentials

/// Standard error as a TextOutputStream, for `print(…, to:)`: one write(2) per call, unbuffered.
public struct StandardError: TextOutputStream {
    /// The stream.
    public init() {}

    public mutating func write(_ string: String) {
        _ = string.utf8CString.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count - 1) }
    }
}

/// The forms results take for people and for scripts; executables choose, libraries only build strings.
public enum Output {
    /// Pretty, key-sorted JSON with a trailing newline: stable for diffs and scripts.
    public static func json(_ value: some Encodable) throws(Dom0Error) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        } catch {
            throw Dom0Error("cannot encode the result as JSON", why: "\(error)")
        }
    }
}

/// A report as people read it, rendered beside the report in its own library (the front ends
/// only choose between `text` and the JSON envelope).
public protocol TextReport: Encodable {
    var text: String { get }
}

extension Plan: TextReport {}
extension ApplyReport: TextReport {}

/// What every tool prints with --json, success or failure: one versioned document (docs/json.md).
/// `report` is what the command found, `plan` what it would change, `apply` what applying did,
/// `error` why the command failed or refused; each is present only when the command has one.
public struct Envelope: Encodable {
    /// The contract's name and version; bumped only when a field changes meaning.
    public static let schema = "dom0kit/1"

    public var tool: String
    /// The subcommand path under the tool ("boot hide"), or the tool's name for a tool without subcommands.
    public var command: String
    /// The exit status the command ends with.
    public var status: ExitStatus
    public var report: (any Encodable)?
    public var plan: (any Encodable)?
    public var apply: ApplyReport?
    public var error: Dom0Error?

    /// An envelope; the status is the error's when there is one.
    public init(tool: String, command: String, status: ExitStatus? = nil, report: (any Encodable)? = nil,
                plan: (any Encodable)? = nil, apply: ApplyReport? = nil, error: Dom0Error? = nil) {
        self.tool = tool
        self.command = command
        self.status = status ?? error?.status ?? .success
        self.report = report
        self.plan = plan
        self.apply = apply
        self.error = error
    }

    private enum Key: String, CodingKey { case schema, tool, command, status, report, plan, apply, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(tool, forKey: .tool)
        try container.encode(command, forKey: .command)
        try container.encode(status, forKey: .status)
        if let report { try container.encode(report, forKey: .report) }
        if let plan { try container.encode(plan, forKey: .plan) }
        try container.encodeIfPresent(apply, forKey: .apply)
        try container.encodeIfPresent(error, forKey: .error)
    }
}

extension Change {
    /// One line for people: "replace /etc/default/grub — set dom0_mem".
    public var headline: String {
        switch action {
        case .writeFile: "\(previous == nil ? "create" : "replace") \(path?.string ?? "?") — \(summary)"
        case .deleteFile: "delete \(path?.string ?? "?") — \(summary)"
        case .writeAttribute(let value): "write \"\(value)\" to \(path?.string ?? "?") — \(summary)"
        case .runTool(let argv, _): "run \(argv.joined(separator: " ")) — \(summary)"
        case .custom(let step): "\(step.headline) — \(summary)"
        }
    }
}

extension Plan {
    /// The plan for people: numbered steps, each file change with its diff indented below it.
    public var text: String {
        guard !isEmpty else { return "Nothing to do.\n" }
        var text = "Plan: \(changes.count) change\(changes.count == 1 ? "" : "s")\n"
        for (number, change) in changes.enumerated() {
            text += "  \(number + 1). [\(change.part)] \(change.headline)\n"
            if let diff = change.diff, !diff.isEmpty {
                for line in diff.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                    text += "       \(line)\n"
                }
            }
            if case .runTool(_, let input?) = change.action {
                text += "       with input:\n"
                for line in input.split(separator: "\n") { text += "         \(line)\n" }
            }
        }
        return text
    }
}

extension ApplyReport {
    /// What was done and, after a failure, what was not, for people.
    public var text: String {
        var text = ""
        for change in done { text += "  done: [\(change.part)] \(change.headline)\n" }
        if let failed, let error {
            text += "  FAILED: [\(failed.part)] \(failed.headline)\n"
            text += "    \(error.description.replacing("\n", with: "\n    "))\n"
            for change in notDone { text += "  not done: [\(change.part)] \(change.headline)\n" }
        }
        if done.isEmpty && failed == nil { text += "Nothing to do.\n" }
        return text
    }
}
