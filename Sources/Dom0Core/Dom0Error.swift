import SystemPackage

/// The process exit codes every Dom0Kit tool uses (docs/design.md, principle 8).
public enum ExitStatus: Int32, Sendable, Codable {
    /// Done, or nothing to do.
    case success = 0
    /// Something failed.
    case failed = 1
    /// Refused: unsafe, incompatible, or a requirement unmet.
    case refused = 2
    /// Already installed at that version (supp-pack, as XenServer's installer does).
    case alreadyInstalled = 3
    /// The command line was wrong.
    case usage = 64
}

/// An error that says what went wrong, where, why, and what to do about it.
public struct Dom0Error: Error, Sendable, CustomStringConvertible {
    /// The exit status the error maps to.
    public var status: ExitStatus
    /// What could not be done ("cannot write file").
    public var what: String
    /// The file and line, device and attribute, or command it concerns.
    public var location: String?
    /// Why: the system's reason, a tool's exit status and stderr, a parse failure.
    public var why: String?
    /// What the operator can do about it, its settings worded by `frontEnd`.
    public var remedy: Remedy?
    /// The front end the operator used, which words the remedy's settings: a tool's options, or a spec's keys.
    public var frontEnd = FrontEnd.commandLine
    /// The errno behind it, when there is one, so callers can retry on EBUSY and the like.
    public var errno: Errno?

    /// What the operator can do about it, as the front end used words it.
    public var fix: String? { remedy?.worded(for: frontEnd) }

    /// A plain failure (exit status 1).
    public init(_ what: String, at location: String? = nil, why: String? = nil, fix: String? = nil, errno: Errno? = nil) {
        self.init(.failed, what, at: location, why: why, fix: fix.map { Remedy($0) }, errno: errno)
    }

    /// An error with the exit status it maps to.
    public init(_ status: ExitStatus, _ what: String, at location: String? = nil,
                why: String? = nil, fix: String? = nil, errno: Errno? = nil) {
        self.init(status, what, at: location, why: why, fix: fix.map { Remedy($0) }, errno: errno)
    }

    /// A plain failure (exit status 1) whose remedy names settings, which the front end words.
    public init(_ what: String, at location: String? = nil, why: String? = nil, fix remedy: Remedy?, errno: Errno? = nil) {
        self.init(.failed, what, at: location, why: why, fix: remedy, errno: errno)
    }

    /// An error whose remedy names settings (`"\(set: .wipe) to destroy it"`), which the front end words.
    public init(_ status: ExitStatus, _ what: String, at location: String? = nil,
                why: String? = nil, fix remedy: Remedy?, errno: Errno? = nil) {
        self.status = status
        self.what = what
        self.location = location
        self.why = why
        self.remedy = remedy
        self.errno = errno
    }

    /// The error as told to the user of `frontEnd`.
    public func told(through frontEnd: FrontEnd) -> Dom0Error {
        var error = self
        error.frontEnd = frontEnd
        return error
    }

    /// An operating-system failure on a path or device.
    public static func system(_ what: String, at location: String, _ errno: Errno, fix: String? = nil) -> Dom0Error {
        Dom0Error(.failed, what, at: location, why: errno.explained, fix: fix ?? errno.defaultFix, errno: errno)
    }

    /// "what: where: why", then the fix on its own line. Parts often carry text from files and
    /// tools, so control characters other than newlines and tabs (a terminal escape) are shown
    /// escaped, never sent to the operator's terminal.
    public var description: String {
        var text = what
        if let location { text += ": \(location)" }
        if let why { text += ": \(why)" }
        if let fix { text += "\n  fix: \(fix)" }
        return text.escapingControlCharacters
    }
}

extension Dom0Error: Encodable {
    /// The error as scripts read it in the JSON envelope (docs/json.md): the parts apart, as
    /// given (JSON escapes what a terminal would not survive), the fix as the front end words it.
    public func encode(to encoder: any Encoder) throws {
        try Parts(status: status, what: what, where: location, why: why, fix: fix).encode(to: encoder)
    }

    private struct Parts: Encodable {
        var status: ExitStatus
        var what: String
        var `where`: String?
        var why: String?
        var fix: String?
    }
}

extension Errno {
    /// "Permission denied (EACCES)": the message people know and the name they can search for.
    public var explained: String {
        "\(description) (errno \(rawValue))"
    }

    /// The usual remedy for the errors operators meet most.
    var defaultFix: String? {
        switch self {
        case .permissionDenied, .notPermitted: "run as root, or pass --root DIR to work on a copy of the host"
        case .readOnlyFileSystem: "remount the file system read-write"
        case .noSpace: "free space on that file system"
        default: nil
        }
    }
}
