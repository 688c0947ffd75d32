/// A boot command line (Xen's or a kernel's) as tokens.
///
/// Tokens are separated by spaces, tabs and newlines; a double-quoted part keeps its spaces, so
/// `dyndbg="file drivers/xen/* +p"` is one token. Tokens are kept verbatim, quotes and all.
public struct BootArguments: Sendable, Equatable, CustomStringConvertible {
    /// The tokens, in order.
    public var tokens: [String]

    /// Arguments from tokens.
    public init(_ tokens: [String] = []) { self.tokens = tokens }

    /// Splits a command line into tokens.
    public init(parsing text: some StringProtocol) {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var inToken = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if !quoted && (character == " " || character == "\t" || character == "\n") {
                if inToken { tokens.append(current) }
                current = ""
                inToken = false
            } else {
                current.append(character)
                inToken = true
            }
        }
        if inToken { tokens.append(current) }
        self.tokens = tokens
    }

    /// The tokens joined by single spaces.
    public var description: String { tokens.joined(separator: " ") }

    /// The key of a token: the part before the first `=`, or the whole token.
    public static func key(of token: String) -> String {
        token.firstIndex(of: "=").map { String(token[..<$0]) } ?? token
    }

    /// Whether `token` belongs to `key`: it equals KEY or starts with `KEY=`.
    public static func token(_ token: String, matches key: String) -> Bool {
        token == key || token.hasPrefix(key + "=")
    }

    /// The tokens of `key`.
    public func values(of key: String) -> [String] {
        tokens.filter { Self.token($0, matches: key) }
    }

    /// The value after `KEY=` of the last token of `key`, if any has one.
    public func value(of key: String) -> String? {
        values(of: key).last.flatMap { token in token.firstIndex(of: "=").map { String(token[token.index(after: $0)...]) } }
    }

    /// Removes every token of the argument's key and appends the argument.
    public mutating func set(_ argument: String) {
        delete(Self.key(of: argument))
        tokens.append(argument)
    }

    /// Removes every token of `key`.
    public mutating func delete(_ key: String) {
        tokens.removeAll { Self.token($0, matches: key) }
    }
}
