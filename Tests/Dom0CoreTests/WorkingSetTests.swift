import Glibc
import Testing
@testable import Dom0Core

struct WorkingSetTests {
    /// This process's resident file pages, from /proc/self/status (kB).
    func residentFilePages() throws -> Int {
        let status = String(decoding: try #require(try FileSystem.read("/proc/self/status")), as: UTF8.self)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test func theExecutableMappingsAreThisProcessCodeAndNoneOfTheKernels() throws {
        let ranges = WorkingSet.executableRanges()
        #expect(!ranges.isEmpty)
        // The C library's madvise(2), which releasing calls, is code in one of them.
        let madvise = UInt(bitPattern: try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "madvise")))
        #expect(ranges.contains { $0.contains(madvise) })
        let maps = String(decoding: try #require(try FileSystem.read("/proc/self/maps")), as: UTF8.self)
        let vdso = try #require(maps.split(separator: "\n").first { $0.hasSuffix("[vdso]") })
        let vdsoStart = try #require(UInt(vdso.prefix { $0 != "-" }, radix: 16))
        #expect(!ranges.contains { $0.contains(vdsoStart) })
    }

    @Test func releasingCodePagesLowersResidentMemoryAndTheCodeStillRuns() throws {
        let before = try residentFilePages()
        WorkingSet.releaseCodePages()
        let after = try residentFilePages()
        #expect(after < before, "\(after) kB of file pages resident after, \(before) kB before")
        // Code comes back on use: the rest of this test runs, and runs the same.
        #expect(try residentFilePages() > 0)
    }
}
