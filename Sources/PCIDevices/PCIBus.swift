import Dom0Core
import Glibc
import SystemPackage

/// A PCI function as sysfs shows it.
public struct PCIDevice: Sendable, Equatable, Encodable {
    public var bdf: BDF
    public var vendor: UInt16
    public var device: UInt16
    public var subsystemVendor: UInt16
    public var subsystemDevice: UInt16
    /// The 24-bit class code.
    public var classCode: UInt32
    /// The driver it is bound to.
    public var driver: String?
    /// Its IOMMU group, if the host shows groups.
    public var iommuGroup: Int?
    /// Its physical function, for an SR-IOV VF.
    public var physicalFunction: BDF?

    /// Whether it is a PCI bridge (class 0604).
    public var isBridge: Bool { classCode >> 8 == 0x0604 }
}

/// The host's PCI bus, read from the root's /sys/bus/pci.
public struct PCIBus: Sendable {
    public static let devices: FilePath = "/sys/bus/pci/devices"
    public static let drivers: FilePath = "/sys/bus/pci/drivers"

    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// Every function, in address order: the directory listed once and each function opened by
    /// the name the listing gave.
    public func all() throws(Dom0Error) -> [PCIDevice] {
        let devices = try root.withListing(Self.devices) { listing throws(Dom0Error) in
            var devices: [PCIDevice] = []
            devices.reserveCapacity(listing.names.count)
            for name in listing.names {
                guard let bdf = BDF(name),
                      let device = try listing.withDirectory(entry: name, { function throws(Dom0Error) in try Self.device(bdf, in: function) }) ?? nil
                else { continue }
                devices.append(device)
            }
            return devices
        }
        return (devices ?? []).sorted { $0.bdf < $1.bdf }
    }

    /// The address of every function, in order, without reading the functions.
    public func addresses() throws(Dom0Error) -> [BDF] {
        try (root.entries(Self.devices, sorted: false) ?? []).compactMap { BDF($0) }.sorted()
    }

    /// One function, or nil when it is not (or no longer) there.
    public func device(_ bdf: BDF) throws(Dom0Error) -> PCIDevice? {
        try withFunction(bdf) { function throws(Dom0Error) in try Self.device(bdf, in: function) } ?? nil
    }

    /// A function, read from its opened directory. Ids and class come from `uevent`, the kernel's
    /// record of the device as enumerated: one read, and unlike `config` it wakes no suspended
    /// device. The driver, group and PF are links. Read into the stack (health reads every
    /// function of the bus: 4,096 of them on a host with SR-IOV).
    private static func device(_ bdf: BDF, in function: FileSystem.OpenDirectory) throws(Dom0Error) -> PCIDevice? {
        guard let identity = try function.withAttribute("uevent", { Self.identity(fromUevent: $0) }) ?? nil else { return nil }
        return PCIDevice(
            bdf: bdf, vendor: identity.vendor, device: identity.device, subsystemVendor: identity.subsystemVendor,
            subsystemDevice: identity.subsystemDevice, classCode: identity.classCode,
            driver: try function.linkName("driver"),
            iommuGroup: try function.withLinkName("iommu_group", Self.decimal) ?? nil,
            physicalFunction: try function.withLinkName("physfn") { BDF(utf8: $0) } ?? nil)
    }

    /// A group number as its link names it; nil unless all decimal digits (at most nine).
    private static func decimal(_ digits: UnsafeRawBufferPointer) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// Ids and class from a function's `uevent` (`PCI_ID=8086:100E`, `PCI_SUBSYS_ID=`, `PCI_CLASS=20000`);
    /// nil without a well-formed PCI_ID.
    static func identity(fromUevent uevent: [UInt8])
        -> (vendor: UInt16, device: UInt16, subsystemVendor: UInt16, subsystemDevice: UInt16, classCode: UInt32)? {
        uevent.withUnsafeBytes { identity(fromUevent: $0) }
    }

    /// The same, on the bytes as read.
    static func identity(fromUevent bytes: UnsafeRawBufferPointer)
        -> (vendor: UInt16, device: UInt16, subsystemVendor: UInt16, subsystemDevice: UInt16, classCode: UInt32)? {
        bytes.withMemoryRebound(to: UInt8.self) { uevent in
            var ids: (UInt16, UInt16)?, subsystem: (UInt16, UInt16)?, classCode: UInt32 = 0
            var rest = uevent[...]
            while !rest.isEmpty {
                let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
                let line = rest[..<end]
                rest = rest[(end == rest.endIndex ? end : end + 1)...]
                if let value = Self.value(line, "PCI_ID=") {
                    ids = Self.pair(value)
                } else if let value = Self.value(line, "PCI_SUBSYS_ID=") {
                    subsystem = Self.pair(value)
                } else if let value = Self.value(line, "PCI_CLASS=") {
                    classCode = Self.hex(value) ?? 0
                }
            }
            guard let ids else { return nil }
            return (ids.0, ids.1, subsystem?.0 ?? 0, subsystem?.1 ?? 0, classCode)
        }
    }

    private typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    /// The value of a `KEY=value` line of uevent, when the line has that key.
    private static func value(_ line: Bytes, _ key: StaticString) -> Bytes? {
        let count = key.utf8CodeUnitCount
        guard line.count >= count, let start = line.base.baseAddress?.advanced(by: line.startIndex),
              memcmp(start, key.utf8Start, count) == 0 else { return nil }
        return line.dropFirst(count)
    }

    /// "8086:10D3" → (0x8086, 0x10d3).
    private static func pair(_ text: Bytes) -> (UInt16, UInt16)? {
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")), let first = hex(text[..<colon]),
              let second = hex(text[(colon + 1)...]), first <= 0xffff, second <= 0xffff else { return nil }
        return (UInt16(first), UInt16(second))
    }

    /// Up to eight hex digits, either case.
    private static func hex(_ digits: Bytes) -> UInt32? {
        guard !digits.isEmpty, digits.count <= 8 else { return nil }
        var value: UInt32 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = digit - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(nibble)
        }
        return value
    }

    /// Runs `body` with a function's directory opened, or gives nil when it is not there.
    private func withFunction<T>(_ bdf: BDF, _ body: (FileSystem.OpenDirectory) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        var directories: Set<FilePath> = []
        return try root.withDirectory(entry: bdf.description, of: Self.devices, directories: &directories, body)
    }

    /// Whether a function is there (cheaper than reading it whole).
    public func isPresent(_ bdf: BDF) throws(Dom0Error) -> Bool {
        try withFunction(bdf) { _ in } != nil
    }

    /// The driver a function is bound to (one readlink, for waiting on a probe).
    public func driver(of bdf: BDF) throws(Dom0Error) -> String? {
        try withFunction(bdf) { function throws(Dom0Error) in try function.linkName("driver") } ?? nil
    }

    /// The functions of an IOMMU group.
    public func group(_ number: Int) throws(Dom0Error) -> [BDF] {
        try (root.entries(FilePath("/sys/kernel/iommu_groups/\(number)/devices"), sorted: false) ?? []).compactMap { BDF($0) }.sorted()
    }

    /// What keeps a device's IOMMU group from being viable for passthrough: each other member still
    /// on a dom0 driver and not a bridge, as "BDF (driver)". `companions` are going along with it.
    public func groupOffenders(of device: PCIDevice, companions: Set<BDF> = []) throws(Dom0Error) -> [String] {
        guard let group = device.iommuGroup else { return [] }
        var members: [PCIDevice] = []
        for other in try self.group(group) where other != device.bdf {
            if let member = try self.device(other) { members.append(member) }
        }
        return Self.offenders(among: members, besides: device.bdf, companions: companions)
    }

    /// The members of a group (already read) that keep it from being viable for `bdf` (nil: for any
    /// member on a passthrough driver): those on a driver that is not a passthrough one (none, or
    /// being a bridge, is fine).
    public static func offenders(among members: [PCIDevice], besides bdf: BDF?, companions: Set<BDF> = []) -> [String] {
        members.compactMap { member in
            guard member.bdf != bdf, let driver = member.driver, PassthroughDriver(rawValue: driver) == nil, !member.isBridge,
                  !companions.contains(member.bdf) else { return nil }
            return "\(member.bdf) (\(driver))"
        }
    }

    /// Whether a driver is loaded (has its directory under /sys/bus/pci/drivers).
    public func hasDriver(_ name: String) throws(Dom0Error) -> Bool {
        try root.exists(Self.drivers.appending(name))
    }

    /// The slots pciback has seized (its `slots` attribute).
    public func pcibackSlots() throws(Dom0Error) -> [BDF] {
        (try root.readText(Self.drivers.appending("pciback/slots")) ?? "").split(separator: "\n").compactMap { BDF($0) }
    }

    /// Whether the kernel has `driver_override` for a function (3.16 and later).
    public func hasDriverOverride(_ bdf: BDF) throws(Dom0Error) -> Bool {
        try withFunction(bdf) { function throws(Dom0Error) in try function.hasEntry("driver_override") } ?? false
    }
}
