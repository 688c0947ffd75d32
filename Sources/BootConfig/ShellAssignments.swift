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
    let path: String
    private(set) var assignments: [Assignment] = []

    /// Parses `text`, evaluating against `environment` and updating it as the shell would.
    init(_ text: String, path: String, environment: inout Environment) throws(Dom0Error) {
        self.text = text
        self.path = path
        var index = text.startIndex
        // After `&&`, `||`, `|` or `&` the rest of the command list may or may not run.
        var conditional = false
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" || character == ";" {
                conditional = false
                index = text.index(after: index)
            } else if character == " " || character == "\t" {
                index = text.index(after: index)
            } else if character == "&" || character == "|" {
                conditional = true
                index = text.index(after: index)
            } else if character == "#" {
                index = text[index...].firstIndex(of: "\n") ?? text.endIndex
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
            var ended = text.isEmpty || text.hasSuffix("\n") ? text : text + "\n"
            // A last line ending in a backslash continues into whatever follows: end it with a blank line.
            if ended.hasSuffix("\\\n") { ended += "\n" }
            return ended + "\(name)=\(Self.quoted(value, single: false))\n"
        }
        var edited = text
        edited.replaceSubrange(assignment.range, with: "\(name)=\(Self.quoted(value, single: assignment.singleQuoted))")
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
        text[..<index].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
    }

    private func problem(_ what: String, at index: String.Index) -> Dom0Error {
        Dom0Error(.failed, what, at: "\(path):\(line(of: index))", fix: "correct the file so that sh -n accepts it")
    }

    /// `NAME=` (after an optional `export `) at `index`: the name and where the value starts.
    private func assignmentStart(at index: String.Index) -> (String, String.Index)? {
        var start = index
        if text[start...].hasPrefix("export "), let after = text.index(start, offsetBy: 7, limitedBy: text.endIndex) {
            start = text[after...].firstIndex { $0 != " " && $0 != "\t" } ?? text.endIndex
        }
        guard start < text.endIndex, text[start] == "_" || (text[start].isASCII && text[start].isLetter) else { return nil }
        let nameEnd = text[start...].firstIndex { !($0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber))) } ?? text.endIndex
        guard nameEnd < text.endIndex, text[nameEnd] == "=" else { return nil }
        return (String(text[start..<nameEnd]), text.index(after: nameEnd))
    }

    /// One shell word: its value (nil if unknowable), whether it was single-quoted, and where it ends.
    private func word(from start: String.Index, environment: Environment) throws(Dom0Error) -> (String?, Bool, String.Index) {
        var value: String? = ""
        var singleQuoted = false
        var index = start
        func append(_ text: String?) { value = value.flatMap { current in text.map { current + $0 } } }
        while index < text.endIndex {
            let character = text[index]
            if " \t\n;&|".contains(character) { break }
            switch character {
            case "\\":
                let next = text.index(after: index)
                guard next < text.endIndex else { index = next; continue }
                if text[next] != "\n" { append(String(text[next])) }
                index = text.index(after: next)
            case "'":
                let open = text.index(after: index)
                guard let close = text[open...].firstIndex(of: "'") else { throw problem("unterminated single quote", at: index) }
                append(String(text[open..<close]))
                singleQuoted = index == start
                index = text.index(after: close)
            case "\"":
                index = try doubleQuoted(from: index, environment: environment) { append($0) }
            case "$":
                index = try expansion(at: index, environment: environment) { append($0) }
            case "`":
                let open = text.index(after: index)
                guard let close = text[open...].firstIndex(of: "`") else { throw problem("unterminated backquote", at: index) }
                value = nil
                index = text.index(after: close)
            default:
                append(String(character))
                index = text.index(after: index)
            }
        }
        return (value, singleQuoted && text[text.index(before: index)] == "'", index)
    }

    private func doubleQuoted(from quote: String.Index, environment: Environment,
                              _ append: (String?) -> Void) throws(Dom0Error) -> String.Index {
        var index = text.index(after: quote)
        while index < text.endIndex {
            let character = text[index]
            switch character {
            case "\"":
                return text.index(after: index)
            case "\\":
                let next = text.index(after: index)
                guard next < text.endIndex else { throw problem("unterminated double quote", at: quote) }
                if text[next] == "\n" {
                    // A continuation: both characters vanish.
                } else if "$`\"\\".contains(text[next]) {
                    append(String(text[next]))
                } else {
                    append("\\" + String(text[next]))
                }
                index = text.index(after: next)
            case "$":
                index = try expansion(at: index, environment: environment, append)
            case "`":
                let open = text.index(after: index)
                guard let close = text[open...].firstIndex(of: "`") else { throw problem("unterminated backquote", at: index) }
                append(nil)
                index = text.index(after: close)
            default:
                append(String(character))
                index = text.index(after: index)
            }
        }
        throw problem("unterminated double quote", at: quote)
    }

    /// `$NAME`, `${NAME}` or `$(…)` at `index`; returns where it ends.
    private func expansion(at dollar: String.Index, environment: Environment,
                           _ append: (String?) -> Void) throws(Dom0Error) -> String.Index {
        let next = text.index(after: dollar)
        guard next < text.endIndex else { append("$"); return next }
        func lookup(_ name: Substring) {
            // An unset variable expands to nothing; one whose value is unknown makes this one unknown.
            if let known = environment[String(name)] { append(known) } else { append("") }
        }
        switch text[next] {
        case "{":
            let open = text.index(after: next)
            guard let close = text[open...].firstIndex(of: "}") else { throw problem("unterminated ${", at: dollar) }
            let name = text[open..<close]
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                append(nil)  // ${VAR:-default} and friends: not evaluated
                return text.index(after: close)
            }
            lookup(name)
            return text.index(after: close)
        case "(":
            var depth = 0
            var index = next
            while index < text.endIndex {
                if text[index] == "(" { depth += 1 }
                if text[index] == ")" { depth -= 1; if depth == 0 { append(nil); return text.index(after: index) } }
                index = text.index(after: index)
            }
            throw problem("unterminated $(", at: dollar)
        case let first where first == "_" || (first.isASCII && first.isLetter):
            let end = text[next...].firstIndex { !($0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber))) } ?? text.endIndex
            lookup(text[next..<end])
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
        while index < text.endIndex, !"\n;&|".contains(text[index]) {
            if text[index] == " " || text[index] == "\t" {
                index = text.index(after: index)
            } else if text[index] == "#" {
                return text[index...].firstIndex(of: "\n") ?? text.endIndex
            } else {
                // A word always advances: it stops only before the characters this loop stops at.
                index = try word(from: index, environment: [:]).2
            }
        }
        return index
    }
}
