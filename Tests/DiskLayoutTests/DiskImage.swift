import Glibc
import DiskLayout
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// A sparse image file in a temporary host root, at /disk.img.
struct DiskImage {
    let directory: TemporaryDirectory
    let root: HostRoot
    let path: FilePath = "/disk.img"
    var real: FilePath { root.path.appending("disk.img") }
    let runner = CommandRunner()

    init(bytes: UInt64) throws {
        directory = try TemporaryDirectory("dom0kit-disk")
        root = try HostRoot(directory.path)
        let fd = try FileDescriptor.open(directory.appending("disk.img"), .writeOnly, options: [.create], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        #expect(ftruncate(fd.rawValue, off_t(bytes)) == 0)
    }

    static func gibibytes(_ count: UInt64) throws -> DiskImage { try DiskImage(bytes: count << 30) }

    var planner: DiskPlanner { DiskPlanner(root: root) }

    func plan(_ configure: (inout DiskOptions) -> Void = { _ in }) async throws -> DiskReport {
        var options = DiskOptions()
        options.labelSuffix = "testfs"
        configure(&options)
        return try await planner.plan(path, options)
    }

    /// Plans and applies; throws the first failure.
    @discardableResult
    func apply(_ configure: (inout DiskOptions) -> Void = { _ in }) async throws -> DiskReport {
        let report = try await plan(configure)
        let applied = await report.plan.apply(ApplyContext(root: root))
        if let error = applied.error { throw error }
        return report
    }

    /// Writes a table with the real sfdisk.
    func partition(_ script: String) async throws {
        try await runner.check(["sfdisk", "--quiet", real.string], input: Array(script.utf8))
    }

    /// The table as sfdisk reads it back.
    func table() async throws -> PartitionTable? {
        try await Disk.read(path, root: root, runner: runner).table
    }

    var digest: UInt64 { get throws { try ImageDigest.of(real) } }

    /// `count` bytes at `offset`.
    func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        let fd = try FileDescriptor.open(real, .readOnly)
        defer { try? fd.close() }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = try buffer.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: Int64(offset), into: $0) }
        return Array(buffer[0..<read])
    }

    /// A XenServer 6.x disk: GPT, root 4 GiB at 1 MiB with an ext4 filesystem (holding the
    /// upgrade flag when asked), backup 4 GiB, local SR on the rest.
    static func legacy(gibibytes: UInt64 = 64, safe2upgrade: Bool, label: String = "gpt") async throws -> DiskImage {
        let image = try DiskImage.gibibytes(gibibytes)
        let gpt = label == "gpt"
        try await image.partition("""
            label: \(label)
            start=2048, size=8388608, type=\(gpt ? PartitionType.data : "83")
            start=8390656, size=8388608, type=\(gpt ? PartitionType.data : "83")
            start=16779264, type=\(gpt ? PartitionType.lvm : "8e")

            """)
        let content = try TemporaryDirectory("dom0kit-rootfs")
        try FileSystem.createDirectories(content.appending("var/preserve"))
        try FileSystem.createDirectories(content.appending("etc"))
        try AtomicWriter.write(Array("XenServer 6.5\n".utf8), to: "/etc/xensource-release", in: HostRoot(content.path))
        if safe2upgrade {
            try AtomicWriter.write([], to: "/var/preserve/safe2upgrade", in: HostRoot(content.path))
        }
        try await image.runner.check(["mkfs.ext4", "-q", "-F", "-E", "offset=1048576", "-d", content.path.string,
                                      image.real.string, "4194304"])
        return image
    }
}
