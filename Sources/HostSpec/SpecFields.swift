import BootConfig
import Dom0Core
import SystemPackage

/// One YAML value being read into a spec, with its path (`boot.hide[2]`) for errors.
struct SpecValue {
    let node: YAMLNode
    let path: String
    let file: String

    /// An error about this value: its path and what is wrong, at its file and line.
    func error(_ what: String, fix: String? = nil) -> Dom0Error {
        Dom0Error(.usage, "\(path.isEmpty ? "the spec" : path): \(what)", at: "\(file):\(node.line)",
                  fix: fix ?? "correct it there; installer/examples/ has specs to start from")
    }

    /// Where it is, for a refusal planning finds later: its key path at its file and line.
    var place: HugepagesSource.Place { HugepagesSource.Place(path.isEmpty ? "the spec" : path, at: "\(file):\(node.line)") }

    /// The most characters of a wrong value an error quotes.
    static let quotedLimit = 40

    private var found: String {
        switch node.kind {
        // A spec's own values are short. A long one, or a whole document that is one text, is some
        // other file given as the spec, whose content (a password file, say) a message never quotes.
        case .scalar(let text, _): node.isNull ? "nothing"
            : text.count <= Self.quotedLimit && !path.isEmpty ? text.quotedForDisplay
            : "a text of \(text.count) characters (is this a host spec?)"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// Text: any scalar (numbers and words alike, as written).
    func string() throws(Dom0Error) -> String {
        guard case .scalar(let text, _) = node.kind, !node.isNull else { throw error("expected text, found \(found)") }
        return text
    }

    /// true or false, unquoted.
    func bool() throws(Dom0Error) -> Bool {
        if case .scalar(let text, false) = node.kind {
            switch text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        throw error("expected true or false, found \(found)")
    }

    /// A whole number in `range`, unquoted.
    func int(in range: ClosedRange<Int>) throws(Dom0Error) -> Int {
        guard case .scalar(let text, false) = node.kind else { throw error("expected a number, found \(found)") }
        switch Int.parseWhole(text) {
        case .failure(.notANumber): throw error("expected a number, found \(found)")
        case .failure(let problem): throw error("\(text) \(problem.words)", fix: "use \(range.lowerBound) to \(range.upperBound)")
        case .success(let value):
            guard range.contains(value) else { throw error("\(value) is out of range", fix: "use \(range.lowerBound) to \(range.upperBound)") }
            return value
        }
    }

    /// One of `choices`.
    func choice(_ choices: [String]) throws(Dom0Error) -> String {
        let text = try string()
        guard choices.contains(text) else {
            throw error("\"\(text)\" is not one of " + choices.joined(separator: ", "))
        }
        return text
    }

    /// The items of a list.
    func items() throws(Dom0Error) -> [SpecValue] {
        guard case .sequence(let nodes) = node.kind else { throw error("expected a list, found \(found)") }
        return nodes.enumerated().map { SpecValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// A mapping whose keys are data (NUMA node numbers), in order, each with its path.
    func entries() throws(Dom0Error) -> [(key: String, value: SpecValue)] {
        guard case .mapping(let entries) = node.kind else { throw error("expected a mapping (key: value lines), found \(found)") }
        return entries.map { ($0.key, SpecValue(node: $0.value, path: "\(path).\($0.key)", file: file)) }
    }

    /// One of an enumeration's values, by its raw value.
    func choice<Choice: RawRepresentable & CaseIterable>(of type: Choice.Type) throws(Dom0Error) -> Choice
        where Choice.RawValue == String {
        let text = try choice(Choice.allCases.map(\.rawValue))
        guard let value = Choice(rawValue: text) else { throw error("\"\(text)\" is not a choice") }
        return value
    }

    /// An absolute path; `example` shows one in the error.
    func absolutePath(example: String) throws(Dom0Error) -> FilePath {
        let text = try string()
        guard text.hasPrefix("/") else { throw error("\(text.quotedForDisplay) is not an absolute path", fix: "as \(example)") }
        return FilePath(text)
    }

    /// The fields of a mapping, to be read by key; unknown keys are an error when `finish` is called.
    func fields(_ known: [String]) throws(Dom0Error) -> SpecFields {
        guard case .mapping(let entries) = node.kind else { throw error("expected a mapping (key: value lines), found \(found)") }
        for entry in entries where !known.contains(entry.key) {
            let child = SpecValue(node: entry.value, path: path, file: file)
            throw child.error("unknown key \"\(entry.key)\"", fix: "keys here: " + known.joined(separator: ", "))
        }
        return SpecFields(value: self, entries: entries)
    }
}

/// The keys of one mapping in a spec.
struct SpecFields {
    let value: SpecValue
    let entries: [YAMLNode.Entry]

    /// The value under `key`, or nil when the key is absent or has no value (`key:` or `key: ~`).
    subscript(_ key: String) -> SpecValue? {
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        let prefix = value.path.isEmpty ? "" : value.path + "."
        return SpecValue(node: entry.value, path: prefix + key, file: value.file)
    }

    /// The value under `key`, which must be given.
    func required(_ key: String) throws(Dom0Error) -> SpecValue {
        if let found = self[key] { return found }
        let prefix = value.path.isEmpty ? "" : value.path + "."
        let entry = entries.first { $0.key == key }
        let at = SpecValue(node: entry?.value ?? value.node, path: prefix + key, file: value.file)
        throw at.error(entry == nil ? "missing value (the key is required)" : "missing value", fix: "give \(key) a value")
    }
}
