import Glibc
import CSystemd
import Logging

/// Sets up swift-log for a Dom0Kit tool: structured entries to the journal when stderr is
/// connected to it (as under a systemd service), plain lines on stderr otherwise.
public enum Dom0Logging {
    /// Installs the handler; call once, at the start of a tool.
    public static func bootstrap(tool: String, level: Logger.Level) {
        let toJournal = JournalStream.isStandardError(environment: getenv("JOURNAL_STREAM").map { String(cString: $0) })
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = toJournal
                ? JournalLogHandler(tool: tool, label: label)
                : StderrLogHandler(tool: tool, label: label)
            // The journal keeps what was done (notices) even without -v; a terminal only hears warnings.
            handler.logLevel = toJournal ? min(level, .notice) : level
            return handler
        }
    }
}

/// systemd sets `JOURNAL_STREAM=<device>:<inode>` for a service whose stderr is the journal;
/// the variable is inherited by children, so it counts only when fd 2 really is that stream.
public enum JournalStream {
    /// Whether `environment` (JOURNAL_STREAM's value) names the file open on `descriptor`.
    public static func isStandardError(environment: String?, descriptor: Int32 = 2) -> Bool {
        guard let environment else { return false }
        let parts = environment.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}

/// Sends each entry to the journal with `sd_journal_sendv`: MESSAGE, PRIORITY, the tool as
/// SYSLOG_IDENTIFIER, the code location, and every metadata key as a `DOM0KIT_*` field (keys
/// already in journal style, such as MESSAGE_ID, pass through unchanged).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let tool: String
    let label: String

    /// A handler for one logger label.
    public init(tool: String, label: String) {
        self.tool = tool
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let fields = Self.fields(event: event, tool: tool, label: label, metadata: metadata)
        if Self.send(fields) != 0 {
            // The journal refused the entry (socket gone, say): do not lose it.
            StderrLogHandler(tool: tool, label: label).log(event: event)
        }
    }

    /// The journal fields for one entry, in `KEY=value` form.
    public static func fields(event: LogEvent, tool: String, label: String, metadata: Logger.Metadata) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(priority(event.level))",
            "SYSLOG_IDENTIFIER=\(tool)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
            "DOM0KIT_LOGGER=\(label)",
        ]
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            fields.append("\(fieldName(key))=\(value)")
        }
        return fields
    }

    /// A metadata key as a journal field name: upper case, `[A-Z0-9_]` only, `DOM0KIT_` in front
    /// unless it already looks like a journal field (all upper case, as MESSAGE_ID).
    public static func fieldName(_ key: String) -> String {
        let isJournalStyle = !key.isEmpty && key.allSatisfy { ($0.isASCII && ($0.isUppercase || $0.isNumber)) || $0 == "_" }
            && !key.hasPrefix("_")
        if isJournalStyle { return key }
        let cleaned = String(key.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" })
        return "DOM0KIT_" + cleaned
    }

    /// syslog priorities, as journalctl -p understands them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Hands the fields to libsystemd; returns its result (0, or a negative errno).
    static func send(_ fields: [String]) -> Int32 {
        let buffers = fields.map { field in
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: field.utf8.count)
            _ = buffer.initialize(from: field.utf8)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var vectors = buffers.map { iovec(iov_base: UnsafeMutableRawPointer($0.baseAddress), iov_len: $0.count) }
        return sd_journal_sendv(&vectors, Int32(vectors.count))
    }
}

/// "tool: warning: message key=value" lines on stderr, for people at a terminal.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .warning
    let tool: String
    let label: String

    /// A handler for one logger label.
    public init(tool: String, label: String) {
        self.tool = tool
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var standardError = StandardError()
        standardError.write(Self.text(event: event, tool: tool, metadata: metadata, fields: logLevel <= .info))
    }

    /// The entry as people read it: the message, and with `fields` (-v) the metadata on a line
    /// of its own after the message's first, so a Dom0Error's "fix:" line stays last and whole.
    /// Without -v the fields are left to the journal: a message says in words what they say
    /// (step, module), and glued to its text they read as part of it. MESSAGE_ID is never shown.
    public static func text(event: LogEvent, tool: String, metadata: Logger.Metadata, fields: Bool) -> String {
        var lines = "\(event.message)".split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[0] = "\(tool): \(event.level): \(lines[0])"
        let all = metadata.merging(event.metadata ?? [:]) { $1 }.filter { $0.key != "MESSAGE_ID" }
        if fields && !all.isEmpty {
            lines.insert("  " + all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " "), at: 1)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The journal MESSAGE_IDs of Dom0Kit's kinds of message, in one place, so journalctl can select
/// them (`journalctl MESSAGE_ID=…`); each carries DOM0KIT_* fields of its own.
public enum MessageID {
    /// pciback-agent bound a device (DOM0KIT_BDF).
    public static let bound = "9a1f5e8e2c3b4d6a8f0e1d2c3b4a5968"
    /// pciback-agent refused to bind a device.
    public static let refused = "3c7d2b1a9e8f4c5d6b7a8e9f0d1c2b3a"
    /// Binding a device failed.
    public static let failed = "e4d3c2b1a0f94e8d7c6b5a4938271605"
    /// A device was bound with --force despite a refusal.
    public static let forced = "7b6a5c4d3e2f41a0b9c8d7e6f5a4b3c2"
    /// host-prepare apply did a step (DOM0KIT_MODULE, DOM0KIT_STEP, DOM0KIT_STEPS).
    public static let stepDone = "5434762e31ff4234961e4ed2bc582708"
    /// A step of host-prepare apply failed; the apply stopped there.
    public static let stepFailed = "4c737a6330c14b26b2389e7e1fa77312"
    /// host-prepare apply did every step of a spec.
    public static let applied = "34a83880f71c4ae28d604dfdbbfdc400"
    /// host-prepare dom0-sched apply set Domain-0's scheduler parameters (DOM0KIT_SCHEDULER,
    /// DOM0KIT_WEIGHT, DOM0KIT_CAP), or found them set.
    public static let dom0Sched = "82048ea201ca41178e5445e3bc8547ab"
    /// host-prepare hugepages apply wrote each node's hugepages (DOM0KIT_SIZE, DOM0KIT_SHORT: pages
    /// the kernel could not reserve).
    public static let hugepages = "55b2e948f14645459d6556062b0e5578"
}
