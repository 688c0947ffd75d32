import Glibc
import Dom0Core
import SystemPackage

/// Makes a filesystem (or swap) on one partition through a loop device over that partition's
/// bytes, so it works the same on image files and on disks whose partition nodes are missing.
/// The loop device is always detached, whatever happens.
public struct FormatPartition: PlanStep, Equatable {
    /// What to put on it.
    public enum Filesystem: String, Sendable, Codable {
        case ext4, vfat, swap
    }

    /// The disk (real path).
    public var device: String
    /// The partition number, for people.
    public var number: Int
    /// Byte offset and length of the partition.
    public var offset: UInt64, length: UInt64
    /// The disk's logical sector size, which the loop device must present too.
    public var sectorSize: UInt64
    /// The filesystem.
    public var filesystem: Filesystem
    /// Its label.
    public var label: String

    public var kind: String { "formatPartition" }

    public var details: [String: String] {
        ["device": device, "partition": "\(number)", "offset": "\(offset)", "length": "\(length)",
         "filesystem": filesystem.rawValue, "label": label]
    }

    public var headline: String { "format partition \(number) of \(device) as \(filesystem.rawValue) labelled \(label)" }

    /// The mkfs command for a loop device.
    func mkfs(_ loop: String) -> [String] {
        switch filesystem {
        case .ext4: ["mkfs.ext4", "-F", "-q", "-L", label, loop]
        case .vfat: ["mkfs.vfat", "-n", label, loop]
        case .swap: ["mkswap", "-L", label, loop]
        }
    }

    public func apply(_ context: ApplyContext) async throws(Dom0Error) {
        var attach = ["losetup", "--find", "--show", "--offset", "\(offset)", "--sizelimit", "\(length)"]
        if sectorSize != 512 { attach += ["--sector-size", "\(sectorSize)"] }
        let loop = try await context.runner.check(attach + [device]).stdout.trimmingTrailingWhitespace
        guard !loop.isEmpty else { throw Dom0Error("losetup gave no loop device", at: device) }
        do {
            try await context.runner.check(mkfs(loop))
        } catch {
            _ = try? await context.runner.check(["losetup", "--detach", loop])
            throw error
        }
        try await context.runner.check(["losetup", "--detach", loop])
    }

    /// Whether the partition already holds this filesystem, by its on-disk signature: ext4's
    /// superblock magic, a FAT boot sector, swap's SWAPSPACE2. A run cut short between writing
    /// the table and making the filesystems is finished by making only the missing ones.
    public func isDone() throws(Dom0Error) -> Bool {
        switch filesystem {
        case .ext4:
            return try Self.bytes(device, offset + 1080, 2) == [0x53, 0xef]
        case .vfat:
            // The boot sector's signature, and "FAT" where FAT32 (82) or FAT12/16 (54) name their type.
            let signature = try Self.bytes(device, offset + 510, 2)
            let fat32 = try Self.bytes(device, offset + 82, 3), fat16 = try Self.bytes(device, offset + 54, 3)
            return signature == [0x55, 0xaa] && (fat32 == Array("FAT".utf8) || fat16 == Array("FAT".utf8))
        case .swap:
            return try Self.bytes(device, offset + 4086, 10) == Array("SWAPSPACE2".utf8)
        }
    }

    /// The volume label of an ext4 filesystem at `offset` of `device`, if there is one.
    public static func ext4Label(_ device: String, offset: UInt64) throws(Dom0Error) -> String? {
        guard try bytes(device, offset + 1080, 2) == [0x53, 0xef] else { return nil }
        let name = try bytes(device, offset + 1024 + 120, 16).prefix { $0 != 0 }
        return name.isEmpty ? nil : String(decoding: name, as: UTF8.self)
    }

    /// `count` bytes of `device` (a real path) at `offset`; fewer at its end.
    static func bytes(_ device: String, _ offset: UInt64, _ count: Int) throws(Dom0Error) -> [UInt8] {
        let fd = open(device, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("cannot open", at: device, Errno(rawValue: errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard read >= 0 else { throw .system("cannot read", at: device, Errno(rawValue: errno)) }
        return Array(buffer.prefix(read))
    }
}
