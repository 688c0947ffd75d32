import Dom0Core
import SystemPackage

/// A disk as Dom0Kit finds it: a block device or an image file, its size, sector size and table.
public struct Disk: Sendable, Encodable {
    /// The path as given (a host path under the root).
    public var path: String
    /// Where it really is.
    public var device: String
    /// Whether it is a block device (else an image file).
    public var isBlockDevice: Bool
    /// Its size in bytes.
    public var bytes: UInt64
    /// Bytes per logical sector.
    public var sectorSize: UInt64
    /// The partition table, if it has one.
    public var table: PartitionTable?
    /// Signatures found outside a table (a filesystem or LVM on the whole disk), as wipefs names them.
    public var signatures: [String]
    /// What is wrong with a table sfdisk could not make sense of, if anything.
    public var damage: String?

    /// The size in sectors.
    public var sectors: UInt64 { bytes / sectorSize }
    /// The size in whole GiB, rounded down, as the installer counts it.
    public var wholeGiB: UInt64 { bytes >> 30 }

    /// Reads a disk with real tools: blockdev for a device's size, wipefs for its signatures, and
    /// sfdisk --json for the table when wipefs finds one.
    public static func read(_ hostPath: FilePath, root: HostRoot, runner: CommandRunner) async throws(Dom0Error) -> Disk {
        let real = try root.resolve(hostPath)
        guard let info = try FileSystem.status(real, followSymlinks: true) else {
            throw Dom0Error(.usage, "no such disk", at: hostPath.string, fix: "name a block device or an image file")
        }
        let isBlock = info.isBlockDevice
        guard isBlock || info.isRegularFile else {
            throw Dom0Error(.usage, "not a disk", at: hostPath.string, why: "neither a block device nor an image file")
        }
        var disk = Disk(path: hostPath.string, device: real.string, isBlockDevice: isBlock, bytes: UInt64(info.st_size),
                        sectorSize: 512, table: nil, signatures: [])
        if isBlock {
            let result = try await runner.check(["blockdev", "--getsize64", "--getss", real.string], effect: .readOnly)
            let numbers = result.stdout.split(separator: "\n").compactMap { UInt64($0) }
            guard numbers.count == 2 else {
                throw Dom0Error("cannot read the size of", at: real.string, why: "blockdev said: \(result.stdout)")
            }
            disk.bytes = numbers[0]
            disk.sectorSize = numbers[1]
        }
        // wipefs sees every signature, partition tables included; sfdisk reads a table only where there is one.
        let wipefs = try await runner.check(["wipefs", "--no-act", "--noheadings", "--output", "TYPE", real.string],
                                            effect: .readOnly)
        let found = wipefs.stdout.split(separator: "\n").map(String.init)
        let tableSignatures: Set<String> = ["gpt", "PMBR", "dos"]
        disk.signatures = found.filter { !tableSignatures.contains($0) }
        guard found.contains(where: tableSignatures.contains) else { return disk }
        let sfdisk = try await runner.run(["sfdisk", "--json", real.string], effect: .readOnly)
        if sfdisk.succeeded {
            let table = try PartitionTable.parse(sfdiskJSON: sfdisk.stdout, device: hostPath.string)
            // sfdisk reads damaged tables leniently; these are not tables to plan around.
            if table.label == "dos", table.partitions.count == 1, table.partitions[0].type == "EE" {
                disk.damage = "a GPT whose headers cannot be read (only its protective MBR is left)"
            } else if let bad = table.partitions.first(where: { $0.end > disk.sectors }) {
                disk.damage = "a \(table.label) table whose partition \(bad.number) ends past the end of the disk"
            } else {
                disk.table = table
            }
        } else if sfdisk.stderr.contains("does not contain a recognized partition table") {
            disk.damage = "a partition table signature sfdisk does not recognise"
        } else {
            throw Dom0Error("sfdisk cannot read the partition table", at: hostPath.string,
                            why: sfdisk.stderr.trimmingTrailingWhitespace, fix: "check the disk; \(set: .wipe) to replace what is there")
        }
        return disk
    }
}
