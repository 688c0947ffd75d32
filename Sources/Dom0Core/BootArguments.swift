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
        // Scalars, not Characters: a blank followed by a combining mark is one Character, but the
        // kernel and GRUB split at the blank byte all the same (found by fuzzing).
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted.toggle() }
            if !quoted && (scalar == " " || scalar == "\t" || scalar == "\n") {
                if inToken { tokens.append(current) }
                current = ""
                inToken = false
            } else {
                current.unicodeScalars.append(scalar)
                inToken = true
            }
        }
        if inToken { tokens.append(current) }
        self.tokens = tokens
    }

    /// The tokens joined by single spaces.
    public var description: String { tokens.joined(separator: " ") }

    /// A token's key and value, split at its first `=`; no value without one. Scalars, not
    /// Characters: an `=` followed by a combining mark is one Character, yet Xen and the kernel
    /// split at the `=` byte (found by fuzzing: `xen-pciback.hide=\u{362}…` passed as some other key).
    public static func split(_ token: String) -> (key: String, value: String?) {
        let scalars = token.unicodeScalars
        guard let equals = scalars.firstIndex(of: "=") else { return (token, nil) }
        return (String(scalars[..<equals]), String(scalars[scalars.index(after: equals)...]))
    }

    /// The key of a token: the part before the first `=`, or the whole token.
    public static func key(of token: String) -> String { split(token).key }

    /// Whether `token` belongs to `key`: it equals KEY or starts with `KEY=`.
    public static func token(_ token: String, matches key: String) -> Bool {
        split(token).key.unicodeScalars.elementsEqual(key.unicodeScalars)
    }

    /// The tokens of `key`.
    public func values(of key: String) -> [String] {
        tokens.filter { Self.token($0, matches: key) }
    }

    /// The value after `KEY=` of the last token of `key`, if any has one.
    public func value(of key: String) -> String? {
        values(of: key).last.flatMap { Self.split($0).value }
    }

    /// Removes every token of the argument's key and appends the argument.
    public mutating func set(_ argument: String) {
        delete(Self.key(of: argument))
        tokens.append(argument)
    }

    /// Removes every token of `key`; given `KEY=VALUE`, only tokens equal to it (as XenServer's
    /// xen-cmdline deletes `dom0_max_vcpus=1-16`).
    public mutating func delete(_ keyOrArgument: String) {
        if Self.split(keyOrArgument).value != nil {
            tokens.removeAll { $0 == keyOrArgument }
        } else {
            tokens.removeAll { Self.token($0, matches: keyOrArgument) }
        }
    }

    /// Characters GRUB's script reader treats as syntax (command separators, redirections, blocks,
    /// quoting): inside an argument written to grub.cfg they would start new commands, or pair
    /// up with a quote on another line. (`"` is allowed in pairs: `dyndbg="file x +p"` is one word.)
    static let scriptSyntax: Set<Unicode.Scalar> = [";", "&", "|", "<", ">", "{", "}", "`", "'", "\\"]

    /// Why GRUB would not read `token`, as the editor keeps it, as one plain word; nil when it would.
    /// The rule for every word the editor writes back into a grub.cfg line, new or kept. Scalars,
    /// not Characters: `&` followed by a combining mark is one Character that is not "&", but GRUB
    /// reads the byte (found by fuzzing against GRUB's reading).
    public static func grubWordProblem(_ token: String) -> String? {
        let scalars = token.unicodeScalars
        if scalars.first == "#" { return "'#' at its start makes the rest of the line a GRUB comment" }
        if let found = scalars.first(where: { scriptSyntax.contains($0) }) {
            return switch found {
            case "'": "a single quote is GRUB script syntax (it pairs with the next one, even on another line)"
            case "\\": "a backslash is GRUB script syntax (it quotes the character after it)"
            default: "'\(found)' is GRUB script syntax"
            }
        }
        if scalars.count(where: { $0 == "\"" }) % 2 != 0 { return "its quotes are not balanced" }
        return nil
    }

    /// Checks that `argument` is one command-line argument and nothing more: not empty, no
    /// control characters (a newline would start a new grub command), no unquoted blanks (`x=a b`
    /// is two arguments), balanced double quotes, no GRUB script syntax or variable (`$x` would be
    /// GRUB's variable, not the text). The one rule for xen-cmdline's arguments and a host spec's.
    public static func checkOne(_ argument: String) throws(Dom0Error) {
        let problem: String? =
            if argument.isEmpty { "it is empty" }
            else if argument.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                "it holds a control character (a newline, a tab, an escape)"
            } else if BootArguments(parsing: argument).tokens != [argument] { "it is more than one argument (a blank outside quotes)" }
            else if let problem = grubWordProblem(argument) { problem }
            else if argument.unicodeScalars.contains("$") { "'$' starts a GRUB variable" }
            else { nil }
        if let problem {
            throw Dom0Error(.usage, "not one boot argument", at: argument.quotedForDisplay, why: problem,
                            fix: "give each argument on its own, as KEY or KEY=VALUE, without quotes other than paired \"")
        }
    }
}
