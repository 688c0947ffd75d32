import CYaml
import Dom0Core

/// A YAML node as a host spec reads it: scalars stay text until a field says what type it wants,
/// and every node keeps the line it started on, so errors can name it.
public struct YAMLNode: Sendable {
    /// One `key: value` of a mapping, in document order.
    public struct Entry: Sendable {
        public var key: String
        public var value: YAMLNode
    }

    public enum Kind: Sendable {
        /// A scalar; `quoted` when written in quotes (then always a string, never a number or bool).
        case scalar(String, quoted: Bool)
        case sequence([YAMLNode])
        case mapping([Entry])
    }

    public var kind: Kind
    /// 1-based.
    public var line: Int

    /// A plain `~`, `null` or nothing at all: no value.
    public var isNull: Bool {
        if case .scalar(let text, false) = kind { return ["", "~", "null", "Null", "NULL"].contains(text) }
        return false
    }
}

/// Reads YAML (and so JSON, a subset of it) with libyaml, the parser Yams wraps, loaded when a
/// spec is read: Yams itself needs the whole of Foundation, 45 MB more in every tool's binary.
public enum YAML {
    /// The one document of `text`, or nil when it has none; `file` is what errors name.
    ///
    /// Refused: several documents, aliases (`*name`), non-scalar keys and repeated keys.
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> YAMLNode? {
        let library = try LibYAML.shared.get()
        var parser = yaml_parser_t()
        guard library.parserInitialize(&parser) != 0 else { throw Dom0Error("cannot start libyaml's parser", at: file) }
        defer { library.parserDelete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(Dom0Error) -> YAMLNode? in
            library.setInputString(&parser, buffer.baseAddress, buffer.count)
            var composer = Composer(file: file)
            while true {
                var event = yaml_event_t()
                guard library.parse(&parser, &event) != 0 else { throw syntaxError(parser, file: file) }
                defer { library.eventDelete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return composer.document }
                try composer.take(event)
            }
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t, file: String) -> Dom0Error {
        let mark = parser.problem_mark
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        let context = parser.context.map { String(cString: $0) + ": " } ?? ""
        return Dom0Error(.usage, "not valid YAML: \(context)\(problem)", at: "\(file):\(mark.line + 1):\(mark.column + 1)",
                         fix: "fix the YAML at that line (JSON is accepted too)")
    }
}

/// Builds nodes from libyaml's events with a stack of open collections.
private struct Composer {
    let file: String
    var document: YAMLNode?
    var documents = 0
    /// Open collections, innermost last; a mapping also holds the key waiting for its value.
    var open: [(node: YAMLNode, key: String?)] = []

    init(file: String) { self.file = file }

    mutating func take(_ event: yaml_event_t) throws(Dom0Error) {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else {
                throw Dom0Error(.usage, "a host spec is one YAML document", at: "\(file):\(line)", fix: "remove the second `---` document")
            }
        case YAML_ALIAS_EVENT:
            throw Dom0Error(.usage, "aliases (*name) are not supported in a host spec", at: "\(file):\(line)", fix: "write the value out")
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            try add(YAMLNode(kind: .scalar(text, quoted: scalar.style != YAML_PLAIN_SCALAR_STYLE), line: line))
        case YAML_SEQUENCE_START_EVENT:
            open.append((YAMLNode(kind: .sequence([]), line: line), nil))
        case YAML_MAPPING_START_EVENT:
            open.append((YAMLNode(kind: .mapping([]), line: line), nil))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            if let finished = open.popLast() { try add(finished.node) }
        default:
            break
        }
    }

    private mutating func add(_ node: YAMLNode) throws(Dom0Error) {
        guard var top = open.popLast() else {
            document = node
            return
        }
        defer { open.append(top) }
        switch top.node.kind {
        case .sequence(let items):
            top.node.kind = .sequence(items + [node])
        case .mapping(let entries):
            guard let key = top.key else {
                guard case .scalar(let text, _) = node.kind else {
                    throw Dom0Error(.usage, "a key must be a plain word, not a list or mapping", at: "\(file):\(node.line)",
                                    fix: "write key: value, as disk: or boot:")
                }
                if entries.contains(where: { $0.key == text }) {
                    throw Dom0Error(.usage, "the key \"\(text)\" appears twice in one mapping", at: "\(file):\(node.line)",
                                    fix: "keep one of them")
                }
                top.key = text
                return
            }
            top.node.kind = .mapping(entries + [YAMLNode.Entry(key: key, value: node)])
            top.key = nil
        case .scalar:
            break
        }
    }
}

/// The libyaml functions the parser uses, as yaml.h declares them.
private struct LibYAML: Sendable {
    static let shared = Result<LibYAML, Dom0Error> { () throws(Dom0Error) in try load() }

    let parserInitialize: @convention(c) (UnsafeMutablePointer<yaml_parser_t>?) -> Int32
    let parserDelete: @convention(c) (UnsafeMutablePointer<yaml_parser_t>?) -> Void
    let setInputString: @convention(c) (UnsafeMutablePointer<yaml_parser_t>?, UnsafePointer<UInt8>?, Int) -> Void
    let parse: @convention(c) (UnsafeMutablePointer<yaml_parser_t>?, UnsafeMutablePointer<yaml_event_t>?) -> Int32
    let eventDelete: @convention(c) (UnsafeMutablePointer<yaml_event_t>?) -> Void

    static func load() throws(Dom0Error) -> LibYAML {
        let library = try LoadedLibrary(["libyaml-0.so.2", "libyaml.so"], package: "libyaml (apt-get install libyaml-0-2; yum install libyaml)")
        return LibYAML(
            parserInitialize: try library.function("yaml_parser_initialize",
                                                   as: (@convention(c) (UnsafeMutablePointer<yaml_parser_t>?) -> Int32).self),
            parserDelete: try library.function("yaml_parser_delete", as: (@convention(c) (UnsafeMutablePointer<yaml_parser_t>?) -> Void).self),
            setInputString: try library.function("yaml_parser_set_input_string",
                                                 as: (@convention(c) (UnsafeMutablePointer<yaml_parser_t>?, UnsafePointer<UInt8>?, Int) -> Void).self),
            parse: try library.function("yaml_parser_parse",
                                        as: (@convention(c) (UnsafeMutablePointer<yaml_parser_t>?, UnsafeMutablePointer<yaml_event_t>?) -> Int32).self),
            eventDelete: try library.function("yaml_event_delete", as: (@convention(c) (UnsafeMutablePointer<yaml_event_t>?) -> Void).self))
    }
}
