import Dom0Core

/// A XenServer/XCP-ng grub.cfg: menu entries whose `multiboot2 /boot/xen.gz …` line carries
/// Xen's arguments and whose first `module2` line after it carries dom0's. GRUB's other forms of
/// the same lines (`multiboot`/`module`, and `xen_hypervisor`/`xen_module`, which XenServer's
/// bootloader library also writes) are read and edited alike.
///
/// Editing rewrites only the lines whose arguments change; every other byte stays.
public struct XenServerGrub: Sendable {
    /// A `menuentry` block.
    public struct Entry: Sendable, Equatable {
        /// Its title, unquoted.
        public var title: String
        /// The index of the line holding Xen's arguments.
        public var xenLine: Int?
        /// The index of the line holding dom0's arguments.
        public var dom0Line: Int?
    }

    /// The file's lines, each with its line ending.
    public private(set) var lines: [String]
    /// The entries, in file order.
    public let entries: [Entry]
    /// The `set default=` value, if any.
    public let defaultSetting: String?
    /// For each line, whether GRUB starts reading it at the start of a command.
    private let startsCommand: [Bool]

    /// Words in a title that mark an entry Dom0Kit never edits unless named.
    public static let excludedTitleMarkers = ["(Serial", "Safe Mode", " / ", "upgrade"]

    /// Parses a grub.cfg.
    public init(_ text: String) {
        // Split at "\n" scalars: as Characters a CRLF ending is one "\r\n" that never equals "\n".
        var lines: [String] = []
        var line = ""
        for scalar in text.unicodeScalars {
            line.unicodeScalars.append(scalar)
            if scalar == "\n" {
                lines.append(line)
                line = ""
            }
        }
        if !line.isEmpty { lines.append(line) }
        self.lines = lines
        self.startsCommand = Self.commandStarts(lines)

        var entries: [Entry] = []
        var defaultSetting: String?
        var current: Entry?
        for (number, line) in lines.enumerated() {
            let words = Self.words(of: line)
            guard let command = words.first else { continue }
            switch command {
            case "set" where words.count > 1 && words[1].hasPrefix("default="):
                defaultSetting = Self.unquote(String(words[1].dropFirst("default=".count)))
            case "menuentry":
                if let current { entries.append(current) }
                current = Entry(title: Self.title(of: line), xenLine: nil, dom0Line: nil)
            // A line counts only with the file it boots: its arguments come after that (a bare
            // `module` would take the first argument for a file; found by fuzzing).
            case "multiboot2", "multiboot", "xen_hypervisor":
                if words.count >= 2, current?.xenLine == nil { current?.xenLine = number }
            case "module2", "module", "xen_module":
                if words.count >= 2, current?.xenLine != nil && current?.dom0Line == nil { current?.dom0Line = number }
            case "}":
                if let current { entries.append(current) }
                current = nil
            default:
                break
            }
        }
        if let current { entries.append(current) }
        self.entries = entries
        self.defaultSetting = defaultSetting
    }

    /// The whole file.
    public var text: String { lines.joined() }

    /// The product entry: the first whose title has none of `excludedTitleMarkers`.
    public var productEntry: Entry? {
        entries.first { entry in !Self.excludedTitleMarkers.contains { entry.title.contains($0) } }
    }

    /// The entries set and delete change: those named, or the product entry and its "(Serial)" twin.
    public func targetEntries(named titles: [String], in path: String) throws(Dom0Error) -> [Entry] {
        if !titles.isEmpty {
            return try titles.map { title throws(Dom0Error) in
                guard let entry = entries.first(where: { $0.title == title }) else {
                    throw Dom0Error(.usage, "no menu entry titled '\(title)'", at: path,
                                    fix: "entries: " + entries.map { "'\($0.title)'" }.joined(separator: ", "))
                }
                return entry
            }
        }
        guard let product = productEntry else {
            throw Dom0Error("no product entry", at: path,
                            why: "every menuentry is a serial, safe-mode, fallback or upgrade entry",
                            fix: "name the entries to edit: \(set: .entry)")
        }
        return [product] + entries.filter { $0.title == "\(product.title) (Serial)" }
    }

    /// The entry `set default=` names (an index or a title), else the product entry.
    public var defaultEntry: Entry? {
        if let setting = defaultSetting {
            if let index = Int(setting), entries.indices.contains(index) { return entries[index] }
            if let entry = entries.first(where: { $0.title == setting }) { return entry }
        }
        return productEntry
    }

    /// The arguments on one of an entry's lines; an entry without that line is an error, never an
    /// empty answer.
    public func arguments(_ line: BootLine, of entry: Entry, in path: String) throws(Dom0Error) -> BootArguments {
        BootArguments(Array(Self.words(of: lines[try index(line, of: entry, in: path)]).dropFirst(2)))
    }

    /// Replaces the arguments on one of an entry's lines; the line is rewritten only if they differ.
    public mutating func setArguments(_ arguments: BootArguments, _ line: BootLine, of entry: Entry,
                                      in path: String) throws(Dom0Error) {
        let index = try index(line, of: entry, in: path)
        guard arguments != (try self.arguments(line, of: entry, in: path)) else { return }
        let original = lines[index]
        let words = Self.words(of: original)
        // The line is rewritten from its words, so GRUB must read it as those words: from the
        // start of a command (not inside a quote an earlier line left open, not continued by a
        // backslash), and each word plain, kept and new alike (the grub-cfg fuzz target checks
        // every edit against a model of GRUB's reader).
        let problem: String? =
            if !startsCommand[index] { "GRUB reads it inside a quote or backslash continuation an earlier line leaves open" }
            else if let found = (words + arguments.tokens).lazy.compactMap(BootArguments.grubWordProblem).first { "a word of it: " + found }
            else { nil }
        if let problem {
            throw Dom0Error(.refused, "refusing to edit line \(index + 1) of menu entry '\(ByteText.toUnicode(entry.title))'", at: path,
                            why: problem + ": " + ByteText.toUnicode(original.trimmingTrailingWhitespace).quotedForDisplay,
                            fix: "fix the quoting of that line or the lines before it by hand, then run this again")
        }
        let indent = original.prefix { $0 == " " || $0 == "\t" }
        // The line keeps its own ending, "\n" or "\r\n".
        var ending = ""
        ending.unicodeScalars.append(contentsOf: original.unicodeScalars.reversed().prefix { $0 == "\n" || $0 == "\r" }.reversed())
        lines[index] = indent + (Array(words.prefix(2)) + arguments.tokens).joined(separator: " ") + ending
    }

    private func index(_ line: BootLine, of entry: Entry, in path: String) throws(Dom0Error) -> Int {
        guard let index = line == .xen ? entry.xenLine : entry.dom0Line else {
            let which = line == .xen ? "Xen line (multiboot2, multiboot or xen_hypervisor)"
                : "dom0 line (module2, module or xen_module after the Xen line)"
            throw Dom0Error("menu entry '\(ByteText.toUnicode(entry.title))' has no \(which)", at: path,
                            fix: "check the entry, or name another: \(set: .entry)")
        }
        return index
    }

    /// The title of a `menuentry 'Title' … {` line.
    static func title(of line: String) -> String {
        var rest = line.drop { $0 == " " || $0 == "\t" }.dropFirst("menuentry".count).drop { $0 == " " || $0 == "\t" }
        guard let quote = rest.first, quote == "'" || quote == "\"" else {
            return String(rest.prefix { $0 != " " && $0 != "{" })
        }
        rest = rest.dropFirst()
        return String(rest.prefix { $0 != quote })
    }

    /// A line's words as the editor keeps them: split at blanks, without its line ending. Only
    /// blanks and the ending are trimmed: a trailing form feed is part of GRUB's last word, and
    /// dropping it would change an argument the edit did not name (the grub-cfg fuzz target holds
    /// the editor to GRUB's reading).
    static func words(of line: String) -> [String] {
        var content = Substring(line).unicodeScalars
        while let last = content.last, last == " " || last == "\t" || last == "\r" || last == "\n" { content.removeLast() }
        return BootArguments(parsing: String(content)).tokens
    }

    /// Which lines GRUB's script reader enters outside any quote, not continued from the line
    /// before by a backslash: only there does a line's text mean what it says. (In GRUB a `'…'`
    /// or `"…"` string may span lines; `#` at a word's start comments out the rest of its line.)
    static func commandStarts(_ lines: [String]) -> [Bool] {
        enum State { case plain, single, double }
        var state = State.plain
        var starts: [Bool] = []
        starts.reserveCapacity(lines.count)
        var escaped = false, continued = false
        for line in lines {
            starts.append(state == .plain && !continued)
            continued = false
            var atWordStart = true
            var comment = false
            for scalar in line.unicodeScalars {
                if escaped {
                    escaped = false
                    continued = scalar == "\n"
                    atWordStart = false
                    continue
                }
                if comment { continue }
                switch (state, scalar) {
                case (.plain, "\\"), (.double, "\\"): escaped = true
                case (.plain, "'"): state = .single
                case (.plain, "\""): state = .double
                case (.plain, "#") where atWordStart: comment = true
                case (.single, "'"), (.double, "\""): state = .plain
                default: break
                }
                atWordStart = switch (state, scalar) {
                case (.plain, " "), (.plain, "\t"), (.plain, "\n"), (.plain, ";"), (.plain, "{"), (.plain, "}"),
                     (.plain, "|"), (.plain, "&"), (.plain, "<"), (.plain, ">"): true
                default: false
                }
            }
        }
        return starts
    }

    static func unquote(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == text.last, first == "'" || first == "\"" else { return text }
        return String(text.dropFirst().dropLast())
    }
}
