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
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value):
                shown += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: shown.unicodeScalars.append(scalar)
            }
        }
        return shown + "\""
    }
}
