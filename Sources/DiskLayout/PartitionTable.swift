import Dom0Core
import FoundationEssentials

/// A partition as it is (or will be) on the disk, in sectors.
public struct Partition: Sendable, Equatable, Codable {
    /// Its number.
    public var number: Int
    /// First sector.
    public var start: UInt64
    /// Length in sectors.
    public var size: UInt64
    /// Type: a GPT GUID (upper case) or an MBR type byte ("83").
    public var type: String
    /// GPT name, if any.
    public var name: String?
    /// GPT partition GUID, kept when a table is rewritten around the partition.
    public var uuid: String?

    /// The sector after its last.
    public var end: UInt64 { start + size }
}

/// A partition table as `sfdisk --json` reports it.
public struct PartitionTable: Sendable, Equatable, Codable {
    /// "gpt" or "dos".
    public var label: String
    /// The disk GUID (GPT) or identifier (dos), kept when the table is rewritten.
    public var id: String?
    /// Bytes per logical sector.
    public var sectorSize: UInt64
    /// Partitions, by number.
    public var partitions: [Partition]

    /// The partition with a number.
    public func partition(_ number: Int) -> Partition? { partitions.first { $0.number == number } }

    /// Reads `sfdisk --json` output; nil input (no table) is handled by the caller.
    static func parse(sfdiskJSON text: String, device: String) throws(Dom0Error) -> PartitionTable {
        struct Output: Decodable {
            struct Table: Decodable {
                struct Entry: Decodable {
                    var node: String
                    var start: UInt64
                    var size: UInt64
                    var type: String
                    var name: String?
                    var uuid: String?
                }
                var label: String
                var id: String?
                var sectorsize: UInt64?
                var partitions: [Entry]?
            }
            var partitiontable: Table
        }
        let decoded: Output
        do {
            decoded = try JSONDecoder().decode(Output.self, from: Data(text.utf8))
        } catch {
            throw Dom0Error("cannot read sfdisk's description of the partition table", at: device, why: "\(error)")
        }
        let table = decoded.partitiontable
        let partitions = try (table.partitions ?? []).map { entry throws(Dom0Error) in
            guard let number = Int(String(entry.node.reversed().prefix { $0.isNumber }.reversed())) else {
                throw Dom0Error("cannot tell the number of partition \(entry.node)", at: device)
            }
            return Partition(number: number, start: entry.start, size: entry.size, type: entry.type.uppercased(),
                             name: entry.name, uuid: entry.uuid)
        }
        return PartitionTable(label: table.label, id: table.id, sectorSize: table.sectorsize ?? 512,
                              partitions: partitions.sorted { $0.number < $1.number })
    }
}

extension PartitionTable {
    /// Whether two tables lay out the same partitions: numbers, starts, sizes, types and names
    /// (identifiers aside).
    public func sameLayout(as other: PartitionTable) -> Bool {
        func shape(_ table: PartitionTable) -> [String] {
            table.partitions.map { "\($0.number) \($0.start) \($0.size) \($0.type.uppercased()) \($0.name ?? "")" }
        }
        return label == other.label && shape(self) == shape(other)
    }

    /// The sfdisk script that writes this table on `device`, numbering each partition explicitly.
    public func sfdiskScript(device: String) -> String {
        var script = "label: \(label)\n"
        if let id { script += "label-id: \(id)\n" }
        script += "unit: sectors\n"
        if sectorSize != 512 { script += "sector-size: \(sectorSize)\n" }
        script += "\n"
        let separator = device.last?.isNumber == true ? "p" : ""
        for partition in partitions.sorted(by: { $0.start < $1.start }) {
            var fields = ["start=\(partition.start)", "size=\(partition.size)", "type=\(partition.type)"]
            if let uuid = partition.uuid { fields.append("uuid=\(uuid)") }
            if let name = partition.name { fields.append("name=\"\(name)\"") }
            script += "\(device)\(separator)\(partition.number) : " + fields.joined(separator: ", ") + "\n"
        }
        return script
    }
}
