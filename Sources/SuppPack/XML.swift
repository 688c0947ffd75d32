import Dom0Core

/// An XML element: name, attributes, child elements and text.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElement]
    /// The element's own character data, entities decoded.
    public var text: String

    /// The first child element with a name.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    /// The child elements with a name.
    public func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
}

/// A deliberately small XML reader for pack metadata: elements, attributes, text, comments,
/// CDATA and the five predefined entities. It refuses DOCTYPE and entity declarations — so no
/// external entity and no entity bomb can reach it — and caps size and depth.
public enum PackXML {
    /// The most bytes a metadata file may have.
    public static let maximumBytes = 4 << 20
    /// The deepest nesting accepted.
    public static let maximumDepth = 32

    /// Parses a document; errors name the file and line.
    public static func parse(_ bytes: [UInt8], file: String) throws(Dom0Error) -> XMLElement {
        guard bytes.count <= maximumBytes else {
            throw Dom0Error(.refused, "metadata file too large", at: file, why: "\(bytes.count) bytes; at most \(maximumBytes)",
                            fix: PackReader.damaged)
        }
        var parser = Parser(text: Array(String(decoding: bytes, as: UTF8.self).unicodeScalars), file: file)
        return try parser.document()
    }

    struct Parser {
        let text: [Unicode.Scalar]
        let file: String
        var index = 0

        func error(_ what: String) -> Dom0Error {
            let line = text[..<min(index, text.count)].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            return Dom0Error(.refused, "malformed pack metadata: \(what)", at: "\(file):\(line)", fix: PackReader.damaged)
        }

        func peek(_ string: String) -> Bool {
            let scalars = Array(string.unicodeScalars)
            return index + scalars.count <= text.count && Array(text[index..<index + scalars.count]) == scalars
        }

        mutating func skip(past string: String) throws(Dom0Error) {
            while index < text.count && !peek(string) { index += 1 }
            guard index < text.count else { throw error("unterminated \(string)") }
            index += string.unicodeScalars.count
        }

        mutating func skipSpace() { while index < text.count, text[index].properties.isWhitespace { index += 1 } }

        /// Skips the prolog, comments and processing instructions around the root element.
        mutating func skipMisc() throws(Dom0Error) {
            while true {
                skipSpace()
                if peek("<?") { try skip(past: "?>") }
                else if peek("<!--") { try skip(past: "-->") }
                else if peek("<!DOCTYPE") || peek("<!ENTITY") {
                    throw error("DOCTYPE and entity declarations are not accepted")
                } else { return }
            }
        }

        mutating func document() throws(Dom0Error) -> XMLElement {
            try skipMisc()
            guard peek("<") else { throw error("no root element") }
            let root = try element(depth: 0)
            try skipMisc()
            guard index == text.count else { throw error("content after the root element") }
            return root
        }

        mutating func name() throws(Dom0Error) -> String {
            let start = index
            while index < text.count, !text[index].properties.isWhitespace, !"/>=".unicodeScalars.contains(text[index]) { index += 1 }
            guard index > start else { throw error("expected a name") }
            return String(String.UnicodeScalarView(text[start..<index]))
        }

        mutating func element(depth: Int) throws(Dom0Error) -> XMLElement {
            guard depth < PackXML.maximumDepth else { throw error("nested deeper than \(PackXML.maximumDepth) elements") }
            index += 1  // "<"
            var element = XMLElement(name: try name(), attributes: [:], children: [], text: "")
            while true {
                skipSpace()
                guard index < text.count else { throw error("unterminated <\(element.name)>") }
                if peek("/>") { index += 2; return element }
                if peek(">") { index += 1; break }
                let attribute = try name()
                skipSpace()
                guard peek("=") else { throw error("attribute \(attribute) has no value") }
                index += 1
                skipSpace()
                guard index < text.count, text[index] == "\"" || text[index] == "'" else { throw error("attribute \(attribute) is not quoted") }
                let quote = text[index]
                index += 1
                let start = index
                while index < text.count, text[index] != quote { index += 1 }
                guard index < text.count else { throw error("unterminated attribute \(attribute)") }
                element.attributes[attribute] = try decode(text[start..<index])
                index += 1
            }
            // Character data is decoded run by run; CDATA sections are taken as they are.
            var raw: [Unicode.Scalar] = []
            while true {
                guard index < text.count else { throw error("unterminated <\(element.name)>") }
                if peek("<") {
                    element.text += try decode(raw[...])
                    raw.removeAll()
                }
                if peek("</") {
                    index += 2
                    let closing = try name()
                    skipSpace()
                    guard closing == element.name, peek(">") else { throw error("</\(closing)> closes <\(element.name)>") }
                    index += 1
                    return element
                } else if peek("<!--") {
                    try skip(past: "-->")
                } else if peek("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    element.text += String(String.UnicodeScalarView(text[start..<(index - 3)]))
                } else if peek("<!") || peek("<?") {
                    throw error("declarations are not accepted inside elements")
                } else if peek("<") {
                    element.children.append(try self.element(depth: depth + 1))
                } else {
                    raw.append(text[index])
                    index += 1
                }
            }
        }

        /// Decodes the predefined entities and character references; anything else is refused.
        func decode(_ scalars: ArraySlice<Unicode.Scalar>) throws(Dom0Error) -> String {
            var result = String.UnicodeScalarView()
            var position = scalars.startIndex
            while position < scalars.endIndex {
                let scalar = scalars[position]
                guard scalar == "&" else { result.append(scalar); position += 1; continue }
                guard let end = scalars[position...].firstIndex(of: ";") else { throw error("unterminated entity reference") }
                let name = String(String.UnicodeScalarView(scalars[(position + 1)..<end]))
                switch name {
                case "lt": result.append("<")
                case "gt": result.append(">")
                case "amp": result.append("&")
                case "quot": result.append("\"")
                case "apos": result.append("'")
                default:
                    let number = name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
                    guard let number, let character = Unicode.Scalar(number) else { throw error("unknown entity &\(name);") }
                    result.append(character)
                }
                position = end + 1
            }
            return String(result)
        }
    }
}
