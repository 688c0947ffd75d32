import Dom0Core

extension DiskReport: TextReport {
    /// The disk, its table, the decision and the target table, then the plan, for people.
    public var text: String {
        let report = self, disk = report.disk
        var text = "Disk \(disk.path): \(disk.isBlockDevice ? "block device" : "image file"), \(disk.wholeGiB) GiB "
            + "(\(disk.bytes) bytes), \(disk.sectorSize)-byte sectors\n"
        text += "Current: " + (disk.table.map { "\($0.label), layout \($0.recognizedLayout)\n" + $0.text }
            ?? (disk.signatures.isEmpty ? "no partition table\n" : "no table; signatures \(disk.signatures.joined(separator: ", "))\n"))
        text += "Decision: \(report.decision.rawValue) — \(report.reason)\n"
        for warning in report.warnings { text += "WARNING: \(warning)\n" }
        if let target = report.target { text += "Target (\(report.layout), \(report.firmware.rawValue)):\n" + target.text }
        text += report.plan.text
        return text
    }
}

extension PartitionTable {
    /// The partitions by start, with sizes in MiB or GiB, for people.
    public var text: String {
        var text = "  #  name      start       size        type\n"
        for partition in partitions.sorted(by: { $0.start < $1.start }) {
            let name = (partition.name ?? "").padding(9)
            text += "  \(partition.number)  \(name) \(mebibytes(partition.start).padding(11)) "
                + "\(mebibytes(partition.size).padding(11)) \(partition.type)\n"
        }
        return text
    }

    private func mebibytes(_ sectors: UInt64) -> String {
        let bytes = sectors * sectorSize
        return bytes % (1 << 30) == 0 ? "\(bytes >> 30) GiB" : "\(bytes >> 20) MiB"
    }
}
