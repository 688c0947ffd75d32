import Dom0Core
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
    /// Whether the kernel has `driver_override` (3.16 and later).
    public var hasDriverOverride: Bool
    /// The driver named in `driver_override`, if set.
    public var driverOverride: String?
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

    /// Every function, in address order.
    public func all() throws(Dom0Error) -> [PCIDevice] {
        guard try root.exists(Self.devices) else { return [] }
        var devices: [PCIDevice] = []
        for name in try FileSystem.entries(root.resolve(Self.devices)) {
            guard let bdf = BDF(name), let device = try device(bdf) else { continue }
            devices.append(device)
        }
        return devices.sorted { $0.bdf < $1.bdf }
    }

    /// One function, or nil when it is not (or no longer) there.
    public func device(_ bdf: BDF) throws(Dom0Error) -> PCIDevice? {
        let path = Self.devices.appending(bdf.description)
        guard try root.exists(path) else { return nil }
        func hex(_ name: String) throws(Dom0Error) -> UInt32? {
            guard let text = try root.readText(path.appending(name))?.trimmingWhitespace else { return nil }
            return UInt32(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16)
        }
        guard let vendor = try hex("vendor"), let device = try hex("device") else { return nil }
        let override = try root.readText(path.appending("driver_override"))?.trimmingWhitespace
        return PCIDevice(
            bdf: bdf, vendor: UInt16(truncatingIfNeeded: vendor), device: UInt16(truncatingIfNeeded: device),
            subsystemVendor: UInt16(truncatingIfNeeded: try hex("subsystem_vendor") ?? 0),
            subsystemDevice: UInt16(truncatingIfNeeded: try hex("subsystem_device") ?? 0),
            classCode: try hex("class") ?? 0, driver: try linkName(path.appending("driver")),
            hasDriverOverride: override != nil, driverOverride: override == "(null)" || override?.isEmpty == true ? nil : override,
            iommuGroup: try linkName(path.appending("iommu_group")).flatMap { Int($0) },
            physicalFunction: try linkName(path.appending("physfn")).flatMap { BDF($0) })
    }

    /// The functions of an IOMMU group.
    public func group(_ number: Int) throws(Dom0Error) -> [BDF] {
        let path = FilePath("/sys/kernel/iommu_groups/\(number)/devices")
        guard try root.exists(path) else { return [] }
        return try FileSystem.entries(root.resolve(path)).compactMap { BDF($0) }.sorted()
    }

    /// The drivers a passthrough device's group companions may be on (besides none, or being a bridge).
    public static let passthroughDrivers: Set<String> = ["vfio-pci", "pciback", "pci-stub"]

    /// What keeps a device's IOMMU group from being viable for passthrough: each other member still
    /// on a dom0 driver and not a bridge, as "BDF (driver)". `companions` are going along with it.
    public func groupOffenders(of device: PCIDevice, companions: Set<BDF> = []) throws(Dom0Error) -> [String] {
        guard let group = device.iommuGroup else { return [] }
        var offenders: [String] = []
        for other in try self.group(group) where other != device.bdf && !companions.contains(other) {
            guard let member = try self.device(other), let driver = member.driver,
                  !Self.passthroughDrivers.contains(driver), !member.isBridge else { continue }
            offenders.append("\(other) (\(driver))")
        }
        return offenders
    }

    /// Whether a driver is loaded (has its directory under /sys/bus/pci/drivers).
    public func hasDriver(_ name: String) throws(Dom0Error) -> Bool {
        try root.exists(Self.drivers.appending(name))
    }

    /// The slots pciback has seized (its `slots` attribute).
    public func pcibackSlots() throws(Dom0Error) -> [BDF] {
        (try root.readText(Self.drivers.appending("pciback/slots")) ?? "").split(separator: "\n").compactMap { BDF($0) }
    }

    /// The last component of a link's target, or nil when there is no link.
    func linkName(_ path: FilePath) throws(Dom0Error) -> String? {
        let link = try root.resolve(path, followFinalLink: false)
        guard try FileSystem.status(link)?.isSymlink == true else { return nil }
        return try FileSystem.readLink(link).lastComponent?.string
    }
}
