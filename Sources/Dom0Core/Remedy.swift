/// Something the operator sets, as each front end asks for it: on a tool's command line, and
/// where a host spec can say it too, with the spec's key. A library's advice names the setting;
/// the front end the operator used words it, so a spec's user is told the spec's key, not a flag.
public struct Setting: Sendable, Hashable {
    /// As a tool's user does it: "pass --wipe", "drop --upgrade".
    public var commandLine: String
    /// As a spec's user does it, "set disk.wipe: true"; nil when no spec key says it.
    public var spec: String?

    public init(commandLine: String, spec: String? = nil) {
        self.commandLine = commandLine
        self.spec = spec
    }
}

/// The front end an error is told through.
public enum FrontEnd: Sendable {
    /// A tool's command line: settings are its options.
    case commandLine
    /// A host spec (host-prepare plan, apply, check, firstboot, the Ansible modules): settings are its keys.
    case spec
}

/// What the operator can do about an error: text, with the settings in it kept as settings until
/// a front end words them. Written as a string: `"\(set: .wipe) to destroy it"`.
public struct Remedy: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case text(String)
        case setting(Setting)
    }

    var parts: [Part]

    /// Advice that names no setting.
    public init(_ text: String) { parts = [.text(text)] }

    public init(stringLiteral value: String) { self.init(value) }

    public init(stringInterpolation: Interpolation) { parts = stringInterpolation.parts }

    public struct Interpolation: StringInterpolationProtocol {
        var parts: [Part] = []

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: String) { parts.append(.text(literal)) }

        public mutating func appendInterpolation(_ value: some Any) { parts.append(.text(String(describing: value))) }

        /// A setting, worded with its verb: "pass --wipe", or for a spec "set disk.wipe: true".
        public mutating func appendInterpolation(set setting: Setting) { parts.append(.setting(setting)) }
    }

    /// The advice as `frontEnd` says it.
    public func worded(for frontEnd: FrontEnd) -> String {
        parts.map { part in
            switch part {
            case .text(let text): text
            case .setting(let setting):
                switch (frontEnd, setting.spec) {
                case (.commandLine, _): setting.commandLine
                case (.spec, let phrase?): phrase
                case (.spec, nil): "\(setting.commandLine) to the tool itself (no spec key says it)"
                }
            }
        }.joined()
    }

    /// As a tool's command line words it.
    public var description: String { worded(for: .commandLine) }
}
