extension StringProtocol {
    /// The text without trailing spaces, tabs and newlines.
    public var trimmingTrailingWhitespace: String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }

    /// The text without leading and trailing spaces, tabs and newlines.
    public var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }).trimmingTrailingWhitespace
    }
}
