import Dom0Core
import SystemPackage

/// Whether a block device is in use: a partition mounted, an active swap, a device-mapper or
/// md holder (an active LVM volume, a RAID), or an LVM physical volume. Read from the host
/// root's /proc and /sys, so a fake root answers for itself.
public enum DiskUsage {
    /// The reasons the disk is busy; empty when it is free. `allowPV` lets partition `allowPV`
    /// be an LVM physical volume (the local SR an upgrade keeps in place).
    public static func reasons(_ disk: Disk, root: HostRoot, runner: CommandRunner, allowPV: Int? = nil)
        async throws(Dom0Error) -> [String] {
        guard disk.isBlockDevice, let info = try FileSystem.status(FilePath(disk.device), followSymlinks: true) else { return [] }
        let (major, minor) = deviceNumbers(info.st_rdev)
        let sysfs = FilePath("/sys/dev/block/\(major):\(minor)")
        // The disk and its partitions, by device number, with the partition number (nil: the whole disk).
        var members: [String: Int?] = ["\(major):\(minor)": nil]
        var holderDirectories: [(FilePath, Int?)] = [(sysfs.appending("holders"), nil)]
        for name in try root.entries(sysfs) ?? [] {
            let entry = sysfs.appending(name)
            guard let number = try root.readText(entry.appending("partition")).flatMap({ Int($0.trimmingTrailingWhitespace) }),
                  let dev = try root.readText(entry.appending("dev"))?.trimmingTrailingWhitespace else { continue }
            members[dev] = number
            holderDirectories.append((entry.appending("holders"), number))
        }
        func what(_ number: Int?) -> String { number.map { "partition \($0)" } ?? "the disk" }

        var reasons: [String] = []
        for line in (try root.readText("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let number = members[String(fields[2])] else { continue }
            reasons.append("\(what(number)) is mounted on \(fields[4])")
        }
        for line in (try root.readText("/proc/swaps") ?? "").split(separator: "\n").dropFirst() {
            guard let path = line.split(separator: " ").first,
                  let swap = try? FileSystem.status(root.resolve(FilePath(String(path))), followSymlinks: true),
                  swap.isBlockDevice else { continue }
            let (swapMajor, swapMinor) = deviceNumbers(swap.st_rdev)
            if let number = members["\(swapMajor):\(swapMinor)"] { reasons.append("\(what(number)) is an active swap (\(path))") }
        }
        for (directory, number) in holderDirectories {
            for holder in try root.entries(directory) ?? [] {
                let kind = holder.hasPrefix("md") ? "md RAID" : holder.hasPrefix("dm-") ? "device mapper (LVM, crypt)" : "another device"
                reasons.append("\(what(number)) is held by \(holder), a \(kind) device")
            }
        }
        var probes: [(Int?, [String])] = [(nil, [])]
        for partition in disk.table?.partitions ?? [] where partition.number != allowPV {
            probes.append((partition.number, ["-O", "\(partition.start * disk.sectorSize)", "-S", "\(partition.size * disk.sectorSize)"]))
        }
        for (number, window) in probes {
            let result = try await runner.run(["blkid", "--probe", "--output", "export"] + window + [disk.device], effect: .readOnly)
            if result.stdout.split(separator: "\n").contains("TYPE=LVM2_member") {
                reasons.append("\(what(number)) is an LVM physical volume")
            }
        }
        return reasons
    }

    /// Major and minor numbers of a dev_t, as glibc's major() and minor() compute them.
    static func deviceNumbers(_ device: UInt) -> (UInt, UInt) {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt(0xff))
        return (major, minor)
    }
}
