import Dom0Core

/// XenServer's upgrade flag: `/var/preserve/safe2upgrade` on the current root filesystem.
public enum Safe2Upgrade {
    /// The flag's path on the root filesystem.
    public static let flag = "/var/preserve/safe2upgrade"

    /// Whether the root partition's ext filesystem holds the flag, read with debugfs without
    /// mounting anything; an unreadable filesystem has no flag.
    public static func isSet(on disk: Disk, root partition: Partition, runner: CommandRunner) async throws(Dom0Error) -> Bool {
        let offset = partition.start * disk.sectorSize
        // e2fsprogs opens "device?offset=N" at that byte offset: the partition, in place.
        let result = try await runner.run(["debugfs", "-R", "stat \(flag)", "\(disk.device)?offset=\(offset)"], effect: .readOnly)
        return result.succeeded && result.stdout.contains("Inode:")
    }
}
