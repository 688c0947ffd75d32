import Glibc

/// A long-running process's resident memory, for daemons that work in bursts and then wait.
///
/// Start-up touches code a daemon never runs again (argument parsing, the Swift runtime's first
/// protocol-conformance lookups, which scan records spread over the whole binary), and a burst of
/// work touches more. Each fault on code maps a 64 KiB window of the page cache (fault-around), so
/// a 19 MB static binary shows ~9 MiB of code resident after start and ~6 MiB after a pass. Those
/// pages are clean and shared with the page cache: unmapping them costs no write-back, and a page
/// needed again is mapped back on its next use (a fault of microseconds). A daemon that has gone
/// quiet releases them, so at rest it holds only its data.
public enum WorkingSet {
    /// Unmaps the resident pages of every read-only executable mapping (this binary's code and its
    /// libraries'): code is never written, so a page mapped back is the same page. Writable and
    /// relocated read-only data (RELRO) is left alone — its pages were written after loading and
    /// must stay — and so are the heap and the stacks.
    public static func releaseCodePages() {
        for range in executableRanges() {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), Int(range.upperBound - range.lowerBound), MADV_DONTNEED)
        }
    }

    /// The `r-xp` file mappings of /proc/self/maps ("start-end r-xp offset dev inode path"), not the
    /// kernel's [vdso] or [vsyscall].
    static func executableRanges() -> [Range<UInt>] {
        guard let bytes = try? FileSystem.read("/proc/self/maps") else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), start < end
            else { return nil }
            return start..<end
        }
    }
}
