import Glibc
import Dom0Core
import FakeHost
import SystemPackage

/// A directory that exists for one test and is removed with everything in it afterwards.
public final class TemporaryDirectory: @unchecked Sendable {
    /// Its path.
    public let path: FilePath

    /// Creates a new directory under $TMPDIR.
    public init(_ label: String = "dom0kit-test") throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: label)
    }

    deinit { try? FileSystem.removeTree(path) }

    /// A path inside it.
    public func appending(_ component: String) -> FilePath { path.appending(component) }
}

/// A fake host in a temporary directory, removed afterwards.
public struct TestHost {
    /// Keeps the directory alive as long as the host.
    public let directory: TemporaryDirectory
    /// The host tree.
    public let host: FakeHost
    /// Its root.
    public var root: HostRoot { host.root }

    /// A fresh skeleton host.
    public init() throws {
        directory = try TemporaryDirectory("dom0kit-host")
        host = try FakeHost(at: directory.appending("root"))
    }
}

/// Where SwiftPM put the binaries of this build: beside the test bundle.
public enum BuiltProducts {
    /// The directory holding the test binary and the executables it depends on.
    public static var directory: FilePath {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        return FilePath(String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            .removingLastComponent()
    }

    /// The path of an executable product.
    public static func executable(_ name: String) -> FilePath { directory.appending(name) }
}

/// `fakehost-dom0kit`, the tools as tests run them on fake host trees (Tests/FakeHostTools).
public enum FakeHostTools {
    /// Its path: run it as `fakehost-dom0kit TOOL ARGUMENTS…`.
    public static var executable: FilePath { BuiltProducts.executable("fakehost-dom0kit") }
    /// Set to N, `host-prepare apply` SIGKILLs itself right after recording step N done.
    public static let crashAfterStepVariable = "DOM0KIT_TEST_CRASH_AFTER_STEP"
}

/// Reads a real file as text, for assertions.
public func contents(_ path: FilePath) throws -> String? {
    try FileSystem.read(path).map { String(decoding: $0, as: UTF8.self) }
}

/// The two contents the crash test's child alternates between: different sizes, each one
/// byte repeated, so any mix or truncation of them is recognisable.
public enum AtomicWriteContents {
    /// 256 KiB of "A" and 96 KiB of "B".
    public static let both: [[UInt8]] = [
        [UInt8](repeating: UInt8(ascii: "A"), count: 256 << 10),
        [UInt8](repeating: UInt8(ascii: "B"), count: 96 << 10),
    ]
}

/// The fixture files under Tests/TestSupport/Fixtures, read from the source tree.
public enum Fixtures {
    /// The fixtures directory.
    public static let directory = FilePath(#filePath).removingLastComponent().appending("Fixtures")

    /// A fixture's text; fails the test run loudly when it is missing.
    public static func text(_ name: String) throws -> String {
        guard let text = try contents(directory.appending(name)) else {
            throw Dom0Error("missing fixture", at: directory.appending(name).string)
        }
        return text
    }
}

/// A digest of a (sparse) image file's content: its size and the bytes of every data extent,
/// found with SEEK_DATA/SEEK_HOLE so a 2 TiB image costs only what it holds.
public enum ImageDigest {
    /// FNV-1a over the size, then each extent's offset and bytes.
    public static func of(_ path: FilePath) throws -> UInt64 {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { try? fd.close() }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) { for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 } }
        let size = lseek(fd.rawValue, 0, SEEK_END)
        withUnsafeBytes(of: size) { mix($0) }
        // Linux's SEEK_DATA and SEEK_HOLE, which Glibc only declares under _GNU_SOURCE.
        let seekData: Int32 = 3, seekHole: Int32 = 4
        var offset: off_t = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while offset < size {
            let data = lseek(fd.rawValue, offset, seekData)
            if data < 0 { break }
            let hole = lseek(fd.rawValue, data, seekHole)
            withUnsafeBytes(of: data) { mix($0) }
            var position = data
            while position < hole {
                let count = buffer.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, Swift.min($0.count, Int(hole - position)), position) }
                if count <= 0 { break }
                mix(buffer[0..<count])
                position += off_t(count)
            }
            offset = hole
        }
        return hash
    }
}

/// Every file, link and directory under `directory` (keyed by their path below it) with mode and
/// content, links as their targets; large files (sparse disk images) by `ImageDigest`. `including`
/// leaves out the keys it refuses.
public func directorySnapshot(_ directory: FilePath, including: (String) -> Bool = { _ in true }) throws -> [String: String] {
    var entries: [String: String] = [:]
    func walk(_ directory: FilePath, _ relative: String) throws {
        for name in try FileSystem.entries(directory) {
            let path = directory.appending(name), key = relative + "/" + name
            guard including(key), let info = try FileSystem.status(path) else { continue }
            let mode = String(info.st_mode & 0o7777, radix: 8)
            if info.isSymlink {
                entries[key] = "link " + (try FileSystem.readLink(path)).string
            } else if info.isDirectory {
                entries[key] = "directory \(mode)"
                try walk(path, key)
            } else if info.st_size > 1 << 20 {
                entries[key] = "file \(mode) \(info.st_size) bytes, digest \(try ImageDigest.of(path))"
            } else {
                entries[key] = "file \(mode) " + (try contents(path) ?? "")
            }
        }
    }
    try walk(directory, "")
    return entries
}

/// Every file, link and directory of a tree with its content, for comparing trees. The disk image
/// (64 GiB, sparse) is compared by its partition table, without the random GUIDs sfdisk picks, and
/// the pack record without its install time: two clean runs differ in those and nothing else.
public func treeSnapshot(_ root: HostRoot) async throws -> [String: String] {
    var entries = try directorySnapshot(root.path) { key in key != "/dev/sda" }
    if let record = entries.first(where: { $0.key.hasSuffix("/dom0kit.json") }) {
        entries[record.key] = record.value.split(separator: "\n").filter { !$0.contains("installedAt") }.joined(separator: "\n")
    }
    let dump = try await CommandRunner().run(["sfdisk", "--dump", root.path.appending("dev/sda").string], effect: .readOnly)
    entries["/dev/sda"] = dump.status != 0 ? "no partition table" : dump.stdout.split(separator: "\n")
        .filter { !$0.hasPrefix("label-id:") }
        .map { $0.replacing(/, uuid=[0-9A-F-]+/, with: "").replacing(root.path.string, with: "ROOT") }
        .joined(separator: "\n")
    return entries
}

/// A generator that gives the same numbers for the same seed (SplitMix64), so a randomised test
/// that fails can be run again as it failed: its message names the seed.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
