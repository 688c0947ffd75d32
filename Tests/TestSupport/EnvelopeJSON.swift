import FoundationEssentials

/// A tool's --json output as a script reads it (docs/json.md): decoding is the test that the
/// output is the envelope. `Report` and `PlanBody` are what the test reads of those fields;
/// `Ignored` when it reads nothing there.
public struct EnvelopeJSON<Report: Decodable, PlanBody: Decodable>: Decodable {
    public struct ErrorJSON: Decodable, Equatable, Sendable {
        public var status: Int32
        public var what: String
        public var `where`: String?
        public var why: String?
        public var fix: String?
    }

    public struct ChangeJSON: Decodable, Equatable, Sendable {
        public var kind: String
        public var module: String
        public var summary: String
        public var path: String?
        public var diff: String?
    }

    public struct ApplyJSON: Decodable, Sendable {
        public var succeeded: Bool
        public var done: [ChangeJSON]
        public var failed: ChangeJSON?
        public var error: ErrorJSON?
        public var notDone: [ChangeJSON]
    }

    public var schema: String
    public var tool: String
    public var command: String
    public var status: Int32
    public var report: Report?
    public var plan: PlanBody?
    public var apply: ApplyJSON?
    public var error: ErrorJSON?

    /// The envelope in a tool's stdout; throws unless it is one of schema dom0kit/1.
    public static func decode(_ stdout: String) throws -> Self {
        let envelope = try JSONDecoder().decode(Self.self, from: Data(stdout.utf8))
        guard envelope.schema == "dom0kit/1" else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "schema \(envelope.schema)"))
        }
        return envelope
    }
}

/// A field a test does not read (any JSON object).
public struct Ignored: Decodable, Sendable {}

/// A plan's changes, as `plan` holds them for a tool's own plan.
public struct PlanJSON: Decodable, Sendable {
    public var changes: [EnvelopeJSON<Ignored, Ignored>.ChangeJSON]
}

/// The envelope of a command whose report a test reads.
public typealias ReportJSON<Report: Decodable> = EnvelopeJSON<Report, Ignored>
