import Dom0Core

/// A shell file of variable assignments, as `/etc/default/grub` is: read the way the shell
/// reads it, and edited by replacing only the text of one assignment.
///
/// Values are evaluated as `sh` would: single and double quotes, backslash escapes, line
/// continuations and `$NAME`/`${NAME}` expansions from earlier assignments. A value holding a
/// command substitution cannot be known without running it; such a value reads as unknown.
struct ShellAssignments: Sendable {
    /// One `NAME=value` in the file.
    struct Assignment: Sendable {
        var name: String
        /// The text from the name to the end of the value.
        var range: Range<String.Index>
        /// The value, or nil when it cannot be known (command substitution, unknown variable).
        var value: String?
        /// Whether the value was written in single quotes.
        var singleQuoted: Bool
        /// Its line, from 1.
        var line: Int
        /// Whether it runs only as part of a command list (after `&&`, `||`, `|` or `&`): the
        /// shell may or may not make it, so the variable's value is unknown after it.
        var conditional = false

        /// Why the value cannot be known, when it cannot.
        var unknownBecause: String? {
            if conditional { return "it is assigned only when a command before it succeeds (after &&, ||, | or &)" }
            return value == nil ? "it is computed by a command" : nil
        }
    }

    /// Values as the shell holds them after a file: nil for a variable whose value is unknown.
    typealias Environment = [String: String?]

    let text: String
    /// The text as Unicode scalars, which the reader walks: as Characters, "\r\n" would be one
    /// and never equal "\n", so a CRLF file would read as one long line (found by fuzzing).
    private let scalars: String.UnicodeScalarView
    let path: String
    private(set) var assignments: [Assignment] = []

    /// Parses `text`, evaluating against `environment` and updating it as the shell would.
    init(_ text: String, path: String, environment: inout Environment) throws(Dom0Error) {
        self.text = text
        self.scalars = text.unicodeScalars
        self.path = path
        var index = scalars.startIndex
        // After `&&`, `||`, `|` or `&` the rest of the command list may or may not run.
        var conditional = false
        while index < scalars.endIndex {
            let character = scalars[index]
            if character == "\n" || character == ";" {
                conditional = false
                index = scalars.index(after: index)
            } else if character == " " || character == "\t" {
                index = scalars.index(after: index)
            } else if character == "&" || character == "|" {
                conditional = true
                index = scalars.index(after: index)
            } else if character == "#" {
                index = scalars[index...].firstIndex(of: "\n") ?? scalars.endIndex
            } else if let (name, valueStart) = assignmentStart(at: index) {
                let (value, singleQuoted, end) = try word(from: valueStart, environment: environment)
                assignments.append(Assignment(name: name, range: index..<end, value: conditional ? nil : value,
                                              singleQuoted: singleQuoted, line: line(of: index), conditional: conditional))
                environment[name] = .some(conditional ? nil : value)
                index = end
            } else {
                index = try skipCommand(from: index)
            }
        }
    }

    /// The last assignment of `name` in this file.
    func last(_ name: String) -> Assignment? { assignments.last { $0.name == name } }

    /// The file with the last assignment of `name` set to `value` (appended when there is none).
    func setting(_ name: String, to value: String) -> String {
        guard let assignment = last(name) else {
            var ended = text
            if let last = ended.unicodeScalars.last, last != "\n" { ended.unicodeScalars.append("\n") }
            // A last line ending in a backslash continues into whatever follows: end it with a blank line.
            if ended.unicodeScalars.suffix(2).elementsEqual("\\\n".unicodeScalars) { ended.unicodeScalars.append("\n") }
            ended.unicodeScalars.append(contentsOf: "\(name)=\(Self.quoted(value, single: false))\n".unicodeScalars)
            return ended
        }
        var edited = text
        edited.unicodeScalars.replaceSubrange(assignment.range,
                                              with: "\(name)=\(Self.quoted(value, single: assignment.singleQuoted))".unicodeScalars)
        return edited
    }

    /// A value quoted for the shell: single quotes where it was so written and can stay so, else double.
    static func quoted(_ value: String, single: Bool) -> String {
        if single && !value.contains("'") { return "'\(value)'" }
        var quoted = "\""
        for character in value {
            if "\\\"$`".contains(character) { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    // MARK: reading

    private func line(of index: String.Index) -> Int {
        scalars[..<index].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
    }

    /// The text between two indices of `scalars`.
    private func slice(_ range: Range<String.Index>) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars[range])
        return result
    }

    /// A letter or `_`, which starts a variable's name; letters, digits and `_` continue it.
    private static func startsName(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func continuesName(_ scalar: Unicode.Scalar) -> Bool {
        startsName(scalar) || ("0"..."9").contains(scalar)
    }

    private func problem(_ what: String, at index: String.Index) -> Dom0Error {
        Dom0Error(.failed, what, at: "\(path):\(line(of: index))", fix: "correct the file so that sh -n accepts it")
    }

    /// `NAME=` (after an optional `export `) at `index`: the name and where the value starts.
    private func assignmentStart(at index: String.Index) -> (String, String.Index)? {
        var start = index
        if scalars[start...].starts(with: "export ".unicodeScalars), let after = scalars.index(start, offsetBy: 7, limitedBy: scalars.endIndex) {
            start = scalars[after...].firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex
        }
        guard start < scalars.endIndex, Self.startsName(scalars[start]) else { return nil }
        let nameEnd = scalars[start...].firstIndex { !Self.continuesName($0) } ?? scalars.endIndex
        guard nameEnd < scalars.endIndex, scalars[nameEnd] == "=" else { return nil }
        return (slice(start..<nameEnd), scalars.index(after: nameEnd))
    }

    /// One shell word: its value (nil if unknowable), whether it was single-quoted, and where it ends.
    private func word(from start: String.Index, environment: Environment) throws(Dom0Error) -> (String?, Bool, String.Index) {
        var value: String? = ""
        var singleQuoted = false
        var index = start
        func append(_ text: String?) { value = value.flatMap { current in text.map { current + $0 } } }
        while index < scalars.endIndex {
            let character = scalars[index]
            if " \t\n;&|".unicodeScalars.contains(character) { break }
            switch character {
            case "\\":
                let next = scalars.index(after: index)
                guard next < scalars.endIndex else { index = next; continue }
                if scalars[next] != "\n" { append(String(scalars[next])) }
                index = scalars.index(after: next)
            case "'":
                let open = scalars.index(after: index)
                guard let close = scalars[open...].firstIndex(of: "'") else { throw problem("unterminated single quote", at: index) }
                append(slice(open..<close))
                singleQuoted = index == start
                index = scalars.index(after: close)
            case "\"":
                index = try doubleQuoted(from: index, environment: environment) { append($0) }
            case "$":
                index = try expansion(at: index, environment: environment) { append($0) }
            case "`":
                let open = scalars.index(after: index)
                guard let close = scalars[open...].firstIndex(of: "`") else { throw problem("unterminated backquote", at: index) }
                value = nil
                index = scalars.index(after: close)
            default:
                append(String(character))
                index = scalars.index(after: index)
            }
        }
        return (value, singleQuoted && scalars[scalars.index(before: index)] == "'", index)
    }

    private func doubleQuoted(from quote: String.Index, environment: Environment,
                              _ append: (String?) -> Void) throws(Dom0Error) -> String.Index {
        var index = scalars.index(after: quote)
        while index < scalars.endIndex {
            let character = scalars[index]
            switch character {
            case "\"":
                return scalars.index(after: index)
            case "\\":
                let next = scalars.index(after: index)
                guard next < scalars.endIndex else { throw problem("unterminated double quote", at: quote) }
                if scalars[next] == "\n" {
                    // A continuation: both characters vanish.
                } else if "$`\"\\".unicodeScalars.contains(scalars[next]) {
                    append(String(scalars[next]))
                } else {
                    append("\\" + String(scalars[next]))
                }
                index = scalars.index(after: next)
            case "$":
                index = try expansion(at: index, environment: environment, append)
            case "`":
                let open = scalars.index(after: index)
                guard let close = scalars[open...].firstIndex(of: "`") else { throw problem("unterminated backquote", at: index) }
                append(nil)
                index = scalars.index(after: close)
            default:
                append(String(character))
                index = scalars.index(after: index)
            }
        }
        throw problem("unterminated double quote", at: quote)
    }

    /// `$NAME`, `${NAME}` or `$(…)` at `index`; returns where it ends.
    private func expansion(at dollar: String.Index, environment: Environment,
                           _ append: (String?) -> Void) throws(Dom0Error) -> String.Index {
        let next = scalars.index(after: dollar)
        guard next < scalars.endIndex else { append("$"); return next }
        func lookup(_ name: String) {
            // An unset variable expands to nothing; one whose value is unknown makes this one unknown.
            if let known = environment[name] { append(known) } else { append("") }
        }
        switch scalars[next] {
        case "{":
            let open = scalars.index(after: next)
            guard let close = scalars[open...].firstIndex(of: "}") else { throw problem("unterminated ${", at: dollar) }
            let name = slice(open..<close)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(Self.continuesName) else {
                append(nil)  // ${VAR:-default} and friends: not evaluated
                return scalars.index(after: close)
            }
            lookup(name)
            return scalars.index(after: close)
        case "(":
            var depth = 0
            var index = next
            while index < scalars.endIndex {
                if scalars[index] == "(" { depth += 1 }
                if scalars[index] == ")" { depth -= 1; if depth == 0 { append(nil); return scalars.index(after: index) } }
                index = scalars.index(after: index)
            }
            throw problem("unterminated $(", at: dollar)
        case let first where Self.startsName(first):
            let end = scalars[next...].firstIndex { !Self.continuesName($0) } ?? scalars.endIndex
            lookup(slice(next..<end))
            return end
        default:
            append("$")
            return next
        }
    }

    /// Skips a command that is not an assignment, honouring quotes, up to what ends it: a newline,
    /// `;`, or an operator (`&&`, `||`, `|`, `&`) that the caller reads.
    private func skipCommand(from start: String.Index) throws(Dom0Error) -> String.Index {
        var index = start
        while index < scalars.endIndex, !"\n;&|".unicodeScalars.contains(scalars[index]) {
            if scalars[index] == " " || scalars[index] == "\t" {
                index = scalars.index(after: index)
            } else if scalars[index] == "#" {
                return scalars[index...].firstIndex(of: "\n") ?? scalars.endIndex
            } else {
                // A word always advances: it stops only before the characters this loop stops at.
                index = try word(from: index, environment: [:]).2
            }
        }
        return index
    }
}
