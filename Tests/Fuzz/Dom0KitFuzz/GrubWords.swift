/// GRUB's script reader as a model for the fuzz invariants: the words of each command after
/// quote removal, written from GRUB's lexer rules (grub-core/script/yylex.l) and independent of
/// the editor's own reader, so that an edit is judged by what GRUB will read, not by what the
/// editor believes it wrote.
///
/// Rules: blanks separate words; a newline or `;` ends a command; `{ } | & < >` are words of
/// their own; `#` at the start of a word comments out the rest of the line; `\` quotes the next
/// character (a newline after it continues the line); `'…'` is literal; in `"…"` a backslash
/// quotes only `$`, `"`, `\` and a newline. A carriage return is dropped wherever it is (GRUB's
/// line reader skips them). Variables are left as written (`$x` is not expanded): both sides of a
/// comparison see the same text.
enum GrubWords {
    /// A command: the line its first word starts on (0-based) and its words.
    struct Command: Equatable {
        var line: Int
        var words: [String]
    }

    /// The commands of `text`, or nil when GRUB would refuse it (a quote left open at the end).
    static func commands(_ text: String) -> [Command]? {
        var commands: [Command] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        var commandLine = 0
        var line = 0
        var scalars = text.unicodeScalars.lazy.filter { $0 != "\r" }.makeIterator()

        func endWord() {
            if inWord {
                if words.isEmpty { commandLine = line }
                words.append(word)
            }
            word = ""
            inWord = false
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { commands.append(Command(line: commandLine, words: words)) }
            words = []
        }
        func startWord() {
            if !inWord && words.isEmpty { commandLine = line }
            inWord = true
        }

        while let scalar = scalars.next() {
            switch scalar {
            case " ", "\t":
                endWord()
            case "\n", ";":
                endCommand()
                if scalar == "\n" { line += 1 }
            case "{", "}", "|", "&", "<", ">":
                endWord()
                startWord()
                word.unicodeScalars.append(scalar)
                endWord()
            case "#" where !inWord:
                // A comment runs to the end of the line; the newline still ends the command.
                while let next = scalars.next(), next != "\n" {}
                endCommand()
                line += 1
            case "\\":
                guard let next = scalars.next() else { return nil }
                if next == "\n" { line += 1; continue }
                startWord()
                word.unicodeScalars.append(next)
            case "'":
                startWord()
                var closed = false
                while let next = scalars.next() {
                    if next == "'" { closed = true; break }
                    if next == "\n" { line += 1 }
                    word.unicodeScalars.append(next)
                }
                if !closed { return nil }
            case "\"":
                startWord()
                var closed = false
                while let next = scalars.next() {
                    if next == "\"" { closed = true; break }
                    if next == "\n" { line += 1 }
                    if next == "\\" {
                        guard let quoted = scalars.next() else { return nil }
                        switch quoted {
                        case "\n": line += 1
                        case "$", "\"", "\\": word.unicodeScalars.append(quoted)
                        default:
                            word.unicodeScalars.append(next)
                            word.unicodeScalars.append(quoted)
                        }
                        continue
                    }
                    word.unicodeScalars.append(next)
                }
                if !closed { return nil }
            default:
                startWord()
                word.unicodeScalars.append(scalar)
            }
        }
        endCommand()
        return commands
    }

    /// The word GRUB reads for a token the editor keeps (quotes and all): its double quotes removed.
    static func word(ofToken token: String) -> String {
        var word = ""
        word.unicodeScalars.append(contentsOf: token.unicodeScalars.filter { $0 != "\"" })
        return word
    }
}
