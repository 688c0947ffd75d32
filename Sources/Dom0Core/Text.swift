extension StringProtocol {
    /// The text without trailing spaces, tabs and newlines (ASCII whitespace, as configs and sysfs use).
    public var trimmingTrailingWhitespace: String {
        let bytes = Substring(self).utf8
        var end = bytes.endIndex
        while end > bytes.startIndex, isASCIIWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// The text without leading and trailing spaces, tabs and newlines.
    public var trimmingWhitespace: String {
        let bytes = Substring(self).utf8
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, isASCIIWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isASCIIWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

extension String {
    /// Each non-empty line indented by two spaces, for nesting one report in another.
    public var indented: String {
        split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
    }
}

/// Space, tab, newline, vertical tab, form feed, carriage return.
@inline(__always)
private func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || (0x09...0x0d).contains(byte)
}

extension String {
    /// The string in double quotes as a message shows it: control characters (a newline, a
    /// terminal escape) and quotes written as escapes, so text taken from a file or an argument
    /// cannot forge lines or drive the terminal.
    public var quotedForDisplay: String {
        var shown = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"", "\\": shown += "\\" + String(scalar)
            case "\n": shown += "\\n"
            case "\t": shown += "\\t"
            default: shown += Self.escaped(scalar)
            }
        }
        return shown + "\""
    }

    /// The string with control characters other than newlines and tabs written as `\u{…}`: text
    /// from files and tools, shown on a terminal it must not drive.
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: { Self.isControl($0) && $0 != "\n" && $0 != "\t" }) else { return self }
        return unicodeScalars.map { $0 == "\n" || $0 == "\t" ? String($0) : Self.escaped($0) }.joined()
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        isControl(scalar) ? "\\u{" + String(scalar.value, radix: 16) + "}" : String(scalar)
    }
}

/// A file's bytes as text with one character per byte (U+0000 to U+00FF), for configuration
/// files that are edited, not interpreted: the ASCII syntax parses as usual, and encoding gives
/// back exactly the bytes read, valid UTF-8 or not. Text from elsewhere (an argument) enters with
/// `fromUnicode` and leaves, for people, with `toUnicode`.
public enum ByteText {
    /// The bytes as byte-text.
    public static func decode(_ bytes: [UInt8]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return text
    }

    /// The bytes of byte-text (every scalar is below 256).
    public static func encode(_ text: String) -> [UInt8] {
        text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }

    /// Unicode text (an argument) as the byte-text of its UTF-8 bytes.
    public static func fromUnicode(_ text: String) -> String { decode(Array(text.utf8)) }

    /// Byte-text as Unicode for people: its bytes read as UTF-8, invalid ones replaced.
    public static func toUnicode(_ text: String) -> String { String(decoding: encode(text), as: UTF8.self) }
}

/// Why a text is not a decimal whole number of some type: a message that calls 99999999999999999999
/// "malformed" or "not a number" sends the reader looking for a typo that is not there.
public enum WholeNumberProblem: Error, Sendable {
    /// Not digits (with an optional sign) at all.
    case notANumber
    /// Digits, but more than the type holds.
    case tooLarge
    /// Digits, but less than the type holds (a negative number where none can be).
    case tooSmall

    /// The problem in words, for a message: "is not a whole number", "is too large", "is too small".
    public var words: String {
        switch self {
        case .notANumber: "is not a whole number"
        case .tooLarge: "is too large"
        case .tooSmall: "is too small"
        }
    }
}

extension FixedWidthInteger {
    /// `text` as a decimal number of this type, or why it is not one.
    public static func parseWhole(_ text: some StringProtocol) -> Result<Self, WholeNumberProblem> {
        if let value = Self(text, radix: 10) { return .success(value) }
        let digits = text.first == "-" || text.first == "+" ? Substring(text).dropFirst() : Substring(text)
        let isNumber = !digits.isEmpty && digits.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard isNumber else { return .failure(.notANumber) }
        return .failure(text.first == "-" ? .tooSmall : .tooLarge)
    }

    /// `text` as plain decimal digits, without a sign (Xen's simple_strtoul reads no `+`), or nil.
    public static func parseDigits(_ text: some StringProtocol) -> Self? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Self(text, radix: 10)
    }
}

/// One `KEY=VALUE` line of Dom0Kit's small configuration files (dom0-sched.conf,
/// hugepages.conf), trimmed, with where it is.
public struct KeyValueLine: Sendable {
    public var key: String
    public var value: String
    /// "FILE:LINE".
    public var location: String

    /// The file's KEY=VALUE lines, blank lines and `#` comments skipped; a line without `=` is an
    /// error naming it, with `fix`.
    public static func lines(of text: String, file: String, fix: String) throws(Dom0Error) -> [KeyValueLine] {
        var lines: [KeyValueLine] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace
            let location = "\(file):\(index + 1)"
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw Dom0Error(.usage, "expected KEY=VALUE", at: location, why: "found \(line.quotedForDisplay)", fix: fix)
            }
            lines.append(KeyValueLine(key: line[..<equals].trimmingWhitespace, value: line[line.index(after: equals)...].trimmingWhitespace,
                                      location: location))
        }
        return lines
    }
}

extension String {
    /// The string padded with spaces to at least `width` characters, and one space more when it
    /// is that long already: a column for people's tables.
    public func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

extension Double {
    /// The number with `places` digits after the point ("12.30"), rounded half away from zero,
    /// without Foundation's formatters.
    public func fixed(_ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((abs(self) * scale).rounded())
        let whole = scaled / Int(scale), fraction = String(scaled % Int(scale))
        let sign = self < 0 && scaled != 0 ? "-" : ""
        guard places > 0 else { return sign + String(whole) }
        return sign + String(whole) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}

extension Duration {
    /// The duration in milliseconds, for reports and logs.
    public var inMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
