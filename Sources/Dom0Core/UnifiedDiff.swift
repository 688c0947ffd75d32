/// A unified diff (`diff -u` format) between two versions of a text file.
public enum UnifiedDiff {
    /// The diff from `old` to `new`, labelled `a/<path>` and `b/<path>`; empty when they are equal.
    ///
    /// A missing side (creation or deletion) is labelled `/dev/null`, as git and diff do.
    public static func make(old: [UInt8]?, new: [UInt8]?, path: String, context: Int = 3) -> String {
        let before = Lines(old ?? [])
        let after = Lines(new ?? [])
        let edits = shortestEdit(before.lines, after.lines)
        guard edits.contains(where: { $0.kind != .keep }) else { return "" }
        let relative = path.hasPrefix("/") ? String(path.dropFirst()) : path
        var text = "--- \(old == nil ? "/dev/null" : "a/" + relative)\n"
        text += "+++ \(new == nil ? "/dev/null" : "b/" + relative)\n"
        for hunk in hunks(edits, context: context) {
            text += hunk.header
            for edit in hunk.edits {
                switch edit.kind {
                case .keep: text += show(" ", before.lines[edit.old])
                case .delete: text += show("-", before.lines[edit.old])
                case .insert: text += show("+", after.lines[edit.new])
                }
            }
        }
        return text
    }

    /// One diff line; a last line without a newline gets diff's marker.
    private static func show(_ prefix: String, _ line: String) -> String {
        line.hasSuffix("\n") ? prefix + line : prefix + line + "\n\\ No newline at end of file\n"
    }

    /// A file split into lines, each keeping its newline, so that a missing final newline
    /// makes the last line differ.
    struct Lines {
        var lines: [String] = []

        init(_ bytes: [UInt8]) {
            var start = bytes.startIndex
            for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
                lines.append(String(decoding: bytes[start...index], as: UTF8.self))
                start = index + 1
            }
            if start < bytes.endIndex { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        }
    }

    /// One step of an edit script: keep, delete or insert a line (indices into old and new).
    struct Edit: Equatable {
        enum Kind { case keep, delete, insert }
        var kind: Kind
        var old: Int
        var new: Int
    }

    /// The shortest edit script (Myers' O(ND) algorithm), after trimming the common ends,
    /// which is where configuration edits leave almost everything.
    static func shortestEdit(_ a: [String], _ b: [String]) -> [Edit] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix,
              a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middle = myers(Array(a[prefix..<(a.count - suffix)]), Array(b[prefix..<(b.count - suffix)]))
        var edits = (0..<prefix).map { Edit(kind: .keep, old: $0, new: $0) }
        edits += middle.map { Edit(kind: $0.kind, old: $0.old + prefix, new: $0.new + prefix) }
        edits += (0..<suffix).map { Edit(kind: .keep, old: a.count - suffix + $0, new: b.count - suffix + $0) }
        return edits
    }

    private static func myers(_ a: [String], _ b: [String]) -> [Edit] {
        let n = a.count, m = b.count, max = n + m
        guard max > 0 else { return [] }
        let offset = max + 1
        var v = [Int](repeating: 0, count: 2 * max + 3)
        var trace: [[Int]] = []
        search: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                    ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] { x += 1; y += 1 }
                v[offset + k] = x
                if x >= n, y >= m { break search }
            }
        }
        // Walk the trace back from the end to recover the path.
        var edits: [Edit] = []
        var x = n, y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let previousK = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? k + 1 : k - 1
            let previousX = d == 0 ? 0 : v[offset + previousK]
            let previousY = previousX - previousK
            while x > previousX, y > previousY {
                x -= 1; y -= 1
                edits.append(Edit(kind: .keep, old: x, new: y))
            }
            if d > 0 {
                if x == previousX { y -= 1; edits.append(Edit(kind: .insert, old: x, new: y)) }
                else { x -= 1; edits.append(Edit(kind: .delete, old: x, new: y)) }
            }
        }
        return edits.reversed()
    }

    /// A run of edits shown together, with its `@@ -l,s +l,s @@` header.
    struct Hunk {
        var edits: [Edit]
        var header: String {
            let oldLines = edits.filter { $0.kind != .insert }
            let newLines = edits.filter { $0.kind != .delete }
            func range(_ start: Int?, _ count: Int, _ fallback: Int) -> String {
                // diff numbers from 1; an empty side names the line before it.
                let first = start.map { $0 + 1 } ?? fallback
                return count == 1 ? "\(first)" : "\(first),\(count)"
            }
            let oldFallback = edits.first.map { $0.old } ?? 0
            let newFallback = edits.first.map { $0.new } ?? 0
            return "@@ -\(range(oldLines.first?.old, oldLines.count, oldFallback)) "
                + "+\(range(newLines.first?.new, newLines.count, newFallback)) @@\n"
        }
    }

    static func hunks(_ edits: [Edit], context: Int) -> [Hunk] {
        let changed = edits.indices.filter { edits[$0].kind != .keep }
        var hunks: [Hunk] = []
        var start = -1, end = -1
        for index in changed {
            let from = Swift.max(0, index - context), to = Swift.min(edits.count - 1, index + context)
            if start >= 0, from <= end + 1 {
                end = to
            } else {
                if start >= 0 { hunks.append(Hunk(edits: Array(edits[start...end]))) }
                start = from; end = to
            }
        }
        if start >= 0 { hunks.append(Hunk(edits: Array(edits[start...end]))) }
        return hunks
    }
}
