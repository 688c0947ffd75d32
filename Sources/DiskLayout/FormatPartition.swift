import Dom0Core

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
}
