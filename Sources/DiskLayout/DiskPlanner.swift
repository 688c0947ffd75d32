import Dom0Core
import SystemPackage

/// What dom0-partition is asked to do.
public struct DiskOptions: Sendable {
    /// The layout.
    public var layout = LayoutName.xs8
    /// Partition 4's kind; nil: UEFI when the host root has /sys/firmware/efi.
    public var firmware: Firmware?
    /// Replace whatever table or signatures the disk has.
    public var wipe = false
    /// Decide as the XenServer installer does for an existing host.
    public var upgrade = false
    /// With `upgrade`: a disk without a partition table gets the fresh layout instead of a refusal
    /// (a host spec allows an upgrade; dom0-partition --upgrade insists on one).
    public var freshWhenBlank = false
    /// Make the local SR partition (else the rest of the disk stays free).
    public var withSR = true
    /// Take the upgrade flag as set, whatever the root filesystem says.
    public var safe2upgrade = false
    /// Consent to re-creating the local SR empty.
    public var destroyLocalSR = false
    /// Make filesystems after partitioning.
    public var mkfs = false
    /// The suffix of filesystem labels (root-SUFFIX); random when nil.
    public var labelSuffix: String?

    /// Default options: a fresh xs8 layout.
    public init() {}
}

/// What the planner decided.
public enum DiskDecision: String, Sendable, Encodable {
    /// Write the layout on a blank (or wiped) disk.
    case create
    /// The disk already has the layout exactly.
    case nothingToDo
    /// Upgrade: convert a GPT disk without a logs partition to xs8, the local SR re-created empty.
    case convertToXS8
    /// Upgrade: back root up, then put a 512 MiB boot partition at root's start.
    case addBootPartition
    /// Upgrade: the layout stays as it is.
    case keep
}

/// The outcome of planning: the disk as found, the decision, the target table and the plan.
public struct DiskReport: Sendable, Encodable {
    public var disk: Disk
    public var layout: LayoutName
    public var firmware: Firmware
    public var decision: DiskDecision
    /// Why, in a sentence.
    public var reason: String
    /// The table the plan writes (nil when nothing is written).
    public var target: PartitionTable?
    public var plan: Plan
    public var warnings: [String] = []

    // The plan is the JSON envelope's own field (docs/json.md).
    private enum CodingKeys: String, CodingKey { case disk, layout, firmware, decision, reason, target, warnings }
}

extension Setting {
    public static let wipe = Setting(commandLine: "pass --wipe", spec: "set disk.wipe: true")
    public static let upgrade = Setting(commandLine: "pass --upgrade", spec: "set disk.upgrade: allowed")
    public static let noUpgrade = Setting(commandLine: "drop --upgrade", spec: "set disk.upgrade: never")
    public static let destroyLocalSR = Setting(commandLine: "pass --yes-destroy-local-sr", spec: "set disk.upgrade: convert")
}

/// Plans dom0 disk layouts on block devices and image files.
public struct DiskPlanner: Sendable {
    /// The host.
    public var root: HostRoot
    /// Runs sfdisk, blockdev, wipefs, blkid, debugfs.
    public var runner: CommandRunner

    /// A planner for the host at `root`.
    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    /// Reads the disk and decides; throws `refused` (exit 2) for anything unsafe, with the disk untouched.
    public func plan(_ hostPath: FilePath, _ options: DiskOptions) async throws(Dom0Error) -> DiskReport {
        // Every argument is checked before anything is read or written: a label mkfs would refuse
        // must not be found out after the table is written.
        if let suffix = options.labelSuffix { try Self.checkLabelSuffix(suffix) }
        let disk = try await Disk.read(hostPath, root: root, runner: runner)
        var firmware = options.firmware
        if firmware == nil { firmware = try root.exists("/sys/firmware/efi") ? .uefi : .bios }
        let layout = Layout.xs8(firmware: firmware ?? .uefi, withSR: options.withSR)
        var report = DiskReport(disk: disk, layout: options.layout, firmware: firmware ?? .uefi, decision: .create, reason: "",
                                target: nil, plan: Plan())
        if options.upgrade && !(options.freshWhenBlank && disk.table == nil) {
            try await planUpgrade(&report, layout, options)
        } else {
            try await planFresh(&report, layout, options)
        }
        return report
    }

    // MARK: fresh layout

    private func planFresh(_ report: inout DiskReport, _ layout: Layout, _ options: DiskOptions) async throws(Dom0Error) {
        let disk = report.disk
        try requireSize(disk, layout)
        let target = try table(for: layout, on: disk)
        if let current = disk.table, current.sameLayout(as: target) {
            report.decision = .nothingToDo
            report.reason = "the disk already has the \(layout.name) layout"
            if options.mkfs {
                // A run cut short after the table: make the filesystems it did not, with the labels' suffix it chose.
                var resumed = options
                let root = current.partition(1).map { $0.start * disk.sectorSize }
                if resumed.labelSuffix == nil, let root, let label = try FormatPartition.ext4Label(disk.device, offset: root),
                   label.hasPrefix("root-") {
                    resumed.labelSuffix = String(label.dropFirst("root-".count))
                }
                for change in format(current, on: disk, numbers: [1, 5, 4, 6], resumed) {
                    if case .custom(let step) = change.action, let format = step as? FormatPartition, try format.isDone() { continue }
                    report.plan.add(change)
                }
                if !report.plan.isEmpty { report.reason += "; the filesystems a cut-short run did not make are made now" }
            }
            return
        }
        if !options.wipe, disk.table != nil || !disk.signatures.isEmpty || disk.damage != nil {
            let found = disk.table.map { "a \($0.label) partition table with partitions "
                + $0.partitions.map { "\($0.number)\($0.name.map { " (\($0))" } ?? "")" }.joined(separator: ", ") }
                ?? disk.damage ?? "signatures: " + disk.signatures.joined(separator: ", ")
            throw Dom0Error(.refused, "refusing to replace what is on the disk", at: disk.path, why: "it has \(found)",
                            fix: "\(set: .wipe) to destroy it, or \(set: .upgrade) to keep what an upgrade keeps")
        }
        try await requireFree(disk, allowPV: nil)
        report.decision = .create
        report.reason = "write the \(layout.name) layout (\(report.firmware.rawValue))"
        report.target = target
        report.plan = write(target, on: disk, wipeDisk: true, wipePartitions: true)
        if options.mkfs { report.plan.changes += format(target, on: disk, numbers: [1, 5, 4, 6], options) }
    }

    // MARK: upgrade

    private func planUpgrade(_ report: inout DiskReport, _ layout: Layout, _ options: DiskOptions) async throws(Dom0Error) {
        let disk = report.disk
        guard let current = disk.table else {
            throw Dom0Error(.refused, "no partition table to upgrade", at: disk.path, why: disk.damage,
                            fix: "\(set: .noUpgrade) to lay out a new disk")
        }
        let hasLogs = current.partition(5) != nil
        var flagged = options.safe2upgrade
        if !flagged, current.label == "gpt", !hasLogs, let root = current.partition(1) {
            flagged = try await Safe2Upgrade.isSet(on: disk, root: root, runner: runner)
        }
        if current.label == "gpt", !hasLogs, flagged {
            try requireSize(disk, layout)
            guard options.destroyLocalSR else {
                throw Dom0Error(.refused, "the upgrade converts this disk to the \(layout.name) layout, which RE-CREATES THE LOCAL SR EMPTY",
                                at: disk.path, why: "every virtual disk on the local SR will be lost",
                                fix: "move what matters off the local SR, then \(set: .destroyLocalSR)")
            }
            try await requireFree(disk, allowPV: 3)
            let target = try table(for: layout, on: disk)
            report.decision = .convertToXS8
            report.reason = "GPT disk without a logs partition, marked safe to upgrade: convert to \(layout.name); "
                + "root is copied to the new backup partition first; THE LOCAL SR IS RE-CREATED EMPTY"
            report.warnings.append("the local SR on partition 3 is destroyed")
            report.target = target
            if let oldRoot = current.partition(1), let newBackup = target.partition(2) {
                report.plan.changes += copy(oldRoot, to: newBackup.start, on: disk, what: "back up root into the new backup partition")
            }
            // The new backup partition now holds root's copy: its signatures must survive.
            report.plan.changes += write(target, on: disk, wipeDisk: true, wipePartitions: false).changes
            if options.mkfs { report.plan.changes += format(target, on: disk, numbers: [1, 5, 4, 6], options) }
            return
        }
        guard current.partition(4) == nil else {
            report.decision = .keep
            report.reason = "the disk has a boot partition: the layout is kept"
            return
        }
        guard current.label == "gpt" else {
            throw Dom0Error(.refused, "only GPT disks can be upgraded here", at: disk.path,
                            why: "the disk has a \(current.label) partition table")
        }
        guard let root = current.partition(1), let backup = current.partition(2) else {
            throw Dom0Error(.refused, "this is not a XenServer disk", at: disk.path, why: "it has no root (1) and backup (2) partitions")
        }
        let bootSectors = (512 << 20) / disk.sectorSize
        guard backup.size >= root.size, root.size > bootSectors * 2 else {
            throw Dom0Error(.refused, "cannot make room for a boot partition", at: disk.path,
                            why: "root is \(root.size * disk.sectorSize >> 20) MiB and backup \(backup.size * disk.sectorSize >> 20) MiB")
        }
        try await requireFree(disk, allowPV: 3)
        var target = current
        target.partitions.removeAll { $0.number == 1 }
        target.partitions.append(Partition(number: 4, start: root.start, size: bootSectors, type: PartitionType.boot(report.firmware),
                                           name: "ESP", uuid: nil))
        target.partitions.append(Partition(number: 1, start: root.start + bootSectors, size: root.size - bootSectors,
                                           type: root.type, name: root.name, uuid: root.uuid))
        target.partitions.sort { $0.number < $1.number }
        report.decision = .addBootPartition
        report.reason = "no boot partition: root is backed up to partition 2, then a 512 MiB boot partition takes root's start "
            + "and root shrinks by 512 MiB; backup and the local SR keep their place and content"
        report.target = target
        report.plan.changes += copy(root, to: backup.start, on: disk, what: "back up root into the backup partition")
        report.plan.changes += write(target, on: disk, wipeDisk: false, wipePartitions: false).changes
        if options.mkfs { report.plan.changes += format(target, on: disk, numbers: [1, 4], options) }
    }

    // MARK: pieces

    private func requireSize(_ disk: Disk, _ layout: Layout) throws(Dom0Error) {
        guard disk.wholeGiB >= UInt64(layout.minimumGiB) else {
            throw Dom0Error(.refused, "the disk is too small for the \(layout.name) layout", at: disk.path,
                            why: "it has \(disk.wholeGiB) GiB (\(disk.bytes) bytes); \(layout.name) needs at least \(layout.minimumGiB) GiB",
                            fix: "give dom0 a disk of \(layout.minimumGiB) GiB or more")
        }
    }

    private func requireFree(_ disk: Disk, allowPV: Int?) async throws(Dom0Error) {
        let reasons = try await DiskUsage.reasons(disk, root: root, runner: runner, allowPV: allowPV)
        guard reasons.isEmpty else {
            throw Dom0Error(.refused, "refusing to partition a disk in use", at: disk.path, why: reasons.joined(separator: "; "),
                            fix: "unmount, swapoff and deactivate what uses it, or boot from other media")
        }
    }

    /// The layout as sectors on this disk: 1 MiB aligned from 1 MiB, the rest up to the last
    /// aligned sector before GPT's backup entries.
    func table(for layout: Layout, on disk: Disk) throws(Dom0Error) -> PartitionTable {
        let align = (1 << 20) / disk.sectorSize
        let entrySectors = (16384 + disk.sectorSize - 1) / disk.sectorSize
        let lastUsable = disk.sectors - 2 - entrySectors
        let end = (lastUsable + 1) / align * align
        var start = align
        var partitions: [Partition] = []
        for spec in layout.partitions {
            let size = spec.mebibytes.map { UInt64($0) << 20 / disk.sectorSize } ?? (end > start ? end - start : 0)
            guard size > 0, start + size <= end else {
                throw Dom0Error(.refused, "the \(layout.name) layout does not fit", at: disk.path,
                                why: "partition \(spec.number) (\(spec.name)) would end past the disk")
            }
            partitions.append(Partition(number: spec.number, start: start, size: size, type: spec.type, name: spec.name, uuid: nil))
            start += size
        }
        return PartitionTable(label: "gpt", id: nil, sectorSize: disk.sectorSize, partitions: partitions.sorted { $0.number < $1.number })
    }

    /// sfdisk writing the table, then the kernel told about it on a block device. Wiping the disk
    /// clears old labels and whole-disk signatures; wiping partitions clears stale filesystem or
    /// LVM signatures inside the new partitions, which must not happen to partitions kept with content.
    private func write(_ table: PartitionTable, on disk: Disk, wipeDisk: Bool, wipePartitions: Bool) -> Plan {
        var plan = Plan()
        let argv = ["sfdisk", "--no-reread", "--no-tell-kernel", "--wipe", wipeDisk ? "always" : "never",
                    "--wipe-partitions", wipePartitions ? "always" : "never", disk.device]
        plan.add(.tool(argv, input: table.sfdiskScript(device: disk.device), part: .disk,
                       summary: "write the \(table.label) partition table"))
        if disk.isBlockDevice {
            // partx works on loop devices made without partition scanning too, where BLKRRPART fails.
            plan.add(.tool(["partx", "--update", disk.device], part: .disk, summary: "tell the kernel about the new partitions"))
            if CommandRunner.locate("udevadm") != nil {
                plan.add(.tool(["udevadm", "settle"], part: .disk, summary: "wait for udev to create the partition devices"))
            }
        }
        return plan
    }

    /// dd copying a partition's bytes to `destination` (a sector), then cmp proving the copy.
    private func copy(_ partition: Partition, to destination: UInt64, on disk: Disk, what: String) -> [Change] {
        let from = partition.start * disk.sectorSize, to = destination * disk.sectorSize, length = partition.size * disk.sectorSize
        return [
            .tool(["dd", "if=\(disk.device)", "of=\(disk.device)", "bs=4M", "iflag=skip_bytes,count_bytes", "oflag=seek_bytes",
                   "skip=\(from)", "seek=\(to)", "count=\(length)", "conv=notrunc,fsync", "status=none"],
                  part: .disk, summary: what),
            .tool(["cmp", "--bytes=\(length)", "--ignore-initial=\(from):\(to)", disk.device, disk.device],
                  part: .disk, summary: "verify the copy byte for byte"),
        ]
    }

    private func format(_ table: PartitionTable, on disk: Disk, numbers: [Int], _ options: DiskOptions) -> [Change] {
        let suffix = options.labelSuffix ?? Self.randomSuffix()
        return numbers.compactMap { number -> Change? in
            guard let partition = table.partition(number) else { return nil }
            let filesystem: FormatPartition.Filesystem
            let label: String
            switch number {
            case 1: (filesystem, label) = (.ext4, "root-\(suffix)")
            case 5: (filesystem, label) = (.ext4, "logs-\(suffix)")
            case 6: (filesystem, label) = (.swap, "swap-\(suffix)")
            case 4 where partition.type == PartitionType.efiSystem: (filesystem, label) = (.vfat, "BOOT-\(suffix.uppercased())")
            default: return nil
            }
            let step = FormatPartition(device: disk.device, number: number, offset: partition.start * disk.sectorSize,
                                       length: partition.size * disk.sectorSize, sectorSize: disk.sectorSize,
                                       filesystem: filesystem, label: label)
            return .step(step, part: .disk, summary: "make the \(partition.name ?? "partition \(number)") filesystem")
        }
    }

    /// A labels' suffix fits every filesystem's label: 1 to 6 lower-case letters or digits, so that
    /// "BOOT-SUFFIX" stays within FAT's 11 characters and nothing needs quoting.
    static func checkLabelSuffix(_ suffix: String) throws(Dom0Error) {
        guard (1...6).contains(suffix.count), suffix.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }) else {
            throw Dom0Error(.usage, "unusable label suffix", at: suffix.quotedForDisplay,
                            why: "labels are root-SUFFIX, logs-SUFFIX, swap-SUFFIX and BOOT-SUFFIX (FAT: 11 characters)",
                            fix: "give 1 to 6 lower-case letters or digits, as XenServer's installer does (abcdef)")
        }
    }

    /// Six lower-case letters, as XenServer's installer suffixes its labels.
    static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &generator))) })
    }
}

extension PartitionTable {
    /// The dom0 layout this table has: xs8, legacy, or unknown.
    public var recognizedLayout: String {
        let numbers = Set(partitions.map(\.number))
        if numbers.isSuperset(of: [1, 2, 4, 5, 6]) { return "xs8" }
        if numbers.isSuperset(of: [1, 2]), !numbers.contains(5), let root = partition(1),
           root.size * sectorSize <= 4 << 30 { return "legacy" }
        return "unknown"
    }
}
