/// How the host boots, which decides partition 4's type.
public enum Firmware: String, Sendable, Codable, CaseIterable {
    /// UEFI: partition 4 is an EFI system partition.
    case uefi
    /// Legacy BIOS: partition 4 is a BIOS boot partition.
    case bios
}

/// The layouts dom0-partition writes (`--layout`, a spec's `disk.layout`).
public enum LayoutName: String, Sendable, Codable, CaseIterable {
    /// XenServer 8's layout.
    case xs8
}

/// GPT partition type GUIDs the dom0 layouts use.
public enum PartitionType {
    /// Linux data as XenServer marks root, backup and logs (Microsoft basic data's GUID).
    public static let data = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    /// EFI system partition.
    public static let efiSystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    /// BIOS boot partition.
    public static let biosBoot = "21686148-6449-6E6F-744E-656564454649"
    /// Linux swap.
    public static let swap = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"
    /// Linux LVM, for the local SR.
    public static let lvm = "E6D6D379-F507-44C2-A23C-238F2A3DF928"

    /// The boot partition's type for a firmware.
    public static func boot(_ firmware: Firmware) -> String { firmware == .uefi ? efiSystem : biosBoot }
}

/// A partition of a layout: its number, name, type and size (nil: the rest of the disk).
public struct PartitionSpec: Sendable, Equatable, Codable {
    /// The partition number (1 root, 2 backup, 3 local SR, 4 boot, 5 logs, 6 swap).
    public var number: Int
    /// Its GPT name (PARTLABEL).
    public var name: String
    /// Its GPT type GUID.
    public var type: String
    /// Its size in MiB; nil for the rest of the disk.
    public var mebibytes: Int?
}

/// A dom0 disk layout: partitions in physical order.
public struct Layout: Sendable, Equatable {
    /// The layout's name (xs8, legacy).
    public var name: String
    /// Partitions in the order they lie on the disk.
    public var partitions: [PartitionSpec]
    /// The smallest disk it fits, in whole GiB.
    public var minimumGiB: Int

    /// The XS8 layout as XenServer's host installer lays it out: logs at 1 MiB, then backup, root,
    /// boot, swap and the local SR (the rest). `withSR: false` leaves the rest free.
    public static func xs8(firmware: Firmware, withSR: Bool = true) -> Layout {
        let partitions = [
            PartitionSpec(number: 5, name: "logs", type: PartitionType.data, mebibytes: 4096),
            PartitionSpec(number: 2, name: "backup", type: PartitionType.data, mebibytes: 18432),
            PartitionSpec(number: 1, name: "root", type: PartitionType.data, mebibytes: 18432),
            PartitionSpec(number: 4, name: "ESP", type: PartitionType.boot(firmware), mebibytes: 512),
            PartitionSpec(number: 6, name: "swap", type: PartitionType.swap, mebibytes: 1024),
        ] + (withSR ? [PartitionSpec(number: 3, name: "localsr", type: PartitionType.lvm, mebibytes: nil)] : [])
        return Layout(name: "xs8", partitions: partitions, minimumGiB: 46)
    }

    /// XenServer 6.x's layout: root 4 GiB, backup 4 GiB, then the local SR.
    public static let legacy = Layout(name: "legacy", partitions: [
        PartitionSpec(number: 1, name: "root", type: PartitionType.data, mebibytes: 4096),
        PartitionSpec(number: 2, name: "backup", type: PartitionType.data, mebibytes: 4096),
        PartitionSpec(number: 3, name: "localsr", type: PartitionType.lvm, mebibytes: nil),
    ], minimumGiB: 9)
}
