import Glibc
import Dom0Core
import PCIDevices
import SystemPackage

/// The sysfs layout of a fake host, shared by the builder and the kernel simulator so both
/// read and write the tree the same way. The tree itself is the only state.
struct SysfsTree {
    let root: HostRoot

    static let devices: FilePath = "/sys/bus/pci/devices"
    static let drivers: FilePath = "/sys/bus/pci/drivers"
    static let driversProbe: FilePath = "/sys/bus/pci/drivers_probe"
    static let iommuGroups: FilePath = "/sys/kernel/iommu_groups"
    /// Facts the kernel keeps to itself (drivers' id tables), kept beside the tree for the simulator.
    static let kernelState: FilePath = "/.fakehost"

    func real(_ hostPath: FilePath) throws(Dom0Error) -> FilePath { try root.resolve(hostPath) }

    /// Writes a fixture file, creating its directory; not atomic, since nothing reads it meanwhile.
    func put(_ hostPath: FilePath, _ text: String, mode: mode_t = 0o644) throws(Dom0Error) {
        let path = try real(hostPath)
        try FileSystem.createDirectories(path.removingLastComponent())
        let fd = path.withPlatformString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw .system("cannot create fixture", at: path.string, Errno(rawValue: errno)) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw .system("cannot write fixture", at: path.string, Errno(rawValue: errno))
        }
    }

    func text(_ hostPath: FilePath) throws(Dom0Error) -> String? { try root.readText(hostPath) }

    /// A relative link at `link` pointing to `target`, both host paths, as sysfs makes them.
    func link(_ link: FilePath, to target: FilePath) throws(Dom0Error) {
        let from = Array(link.removingLastComponent().components)
        let to = Array(target.components)
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        var relative = FilePath()
        for _ in common..<from.count { relative.append("..") }
        relative.append(to[common...])
        let path = try root.resolve(link, followFinalLink: false)
        try FileSystem.createDirectories(path.removingLastComponent())
        try FileSystem.remove(path)
        try FileSystem.symlink(relative, at: path)
    }

    func removeLink(_ link: FilePath) throws(Dom0Error) {
        try FileSystem.remove(root.resolve(link, followFinalLink: false))
    }

    // MARK: devices

    /// The device's directory under /sys/devices, or nil when there is no such device.
    func deviceDirectory(_ bdf: BDF) throws(Dom0Error) -> FilePath? {
        let link = Self.devices.appending(bdf.description)
        guard try FileSystem.status(root.resolve(link, followFinalLink: false)) != nil else { return nil }
        return root.hostPath(of: try root.resolve(link))
    }

    func requireDevice(_ bdf: BDF, writing attribute: FilePath, _ value: String) throws(Dom0Error) -> FilePath {
        guard let directory = try deviceDirectory(bdf) else {
            throw KernelSysfs.attributeError(value, attribute, .operationNotSupportedByDevice)
        }
        return directory
    }

    func allDevices() throws(Dom0Error) -> [BDF] {
        try FileSystem.entries(real(Self.devices)).compactMap(BDF.init)
    }

    /// The driver a device is bound to, read from its `driver` link.
    func boundDriver(_ bdf: BDF) throws(Dom0Error) -> String? {
        guard let directory = try deviceDirectory(bdf) else { return nil }
        let link = try root.resolve(directory.appending("driver"), followFinalLink: false)
        guard try FileSystem.status(link) != nil else { return nil }
        return try FileSystem.readLink(link).lastComponent?.string
    }

    /// `driver_override` as the kernel holds it: nil when unset (the file reads "(null)").
    func driverOverride(_ bdf: BDF) throws(Dom0Error) -> String? {
        guard let directory = try deviceDirectory(bdf),
              let value = try text(directory.appending("driver_override"))?.trimmingTrailingWhitespace,
              value != "(null)", !value.isEmpty else { return nil }
        return value
    }

    func hexAttribute(_ bdf: BDF, _ name: String) throws(Dom0Error) -> UInt32? {
        guard let directory = try deviceDirectory(bdf),
              let value = try text(directory.appending(name))?.trimmingTrailingWhitespace else { return nil }
        return UInt32(value.hasPrefix("0x") ? String(value.dropFirst(2)) : value, radix: 16)
    }

    func intAttribute(_ directory: FilePath, _ name: String) throws(Dom0Error) -> Int? {
        try text(directory.appending(name)).flatMap { Int($0.trimmingTrailingWhitespace) }
    }

    func bind(_ bdf: BDF, to driver: String) throws(Dom0Error) {
        guard let directory = try deviceDirectory(bdf) else { return }
        let driverDirectory = Self.drivers.appending(driver)
        try link(directory.appending("driver"), to: driverDirectory)
        try link(driverDirectory.appending(bdf.description), to: directory)
    }

    func unbind(_ bdf: BDF, from driver: String) throws(Dom0Error) {
        guard let directory = try deviceDirectory(bdf) else { return }
        try removeLink(directory.appending("driver"))
        try removeLink(Self.drivers.appending(driver).appending(bdf.description))
    }

    // MARK: drivers

    func driverExists(_ name: String) throws(Dom0Error) -> Bool {
        try root.exists(Self.drivers.appending(name))
    }

    func allDrivers() throws(Dom0Error) -> [String] {
        try FileSystem.entries(real(Self.drivers))
    }

    func kernelStatePath(_ driver: String, _ name: String) -> FilePath {
        Self.kernelState.appending("drivers").appending(driver).appending(name)
    }

    func driverKind(_ driver: String) throws(Dom0Error) -> FakeDriver.Kind {
        try text(kernelStatePath(driver, "kind")).flatMap { FakeDriver.Kind(rawValue: $0.trimmingTrailingWhitespace) } ?? .plain
    }

    /// The driver's id table: its static ids, then those added through `new_id`.
    func ids(_ driver: String, dynamic: Bool) throws(Dom0Error) -> [PCIID] {
        let text = try self.text(kernelStatePath(driver, dynamic ? "new_ids" : "ids")) ?? ""
        return text.split(separator: "\n").compactMap { PCIID($0) }
    }

    func setIDs(_ driver: String, dynamic: Bool, _ ids: [PCIID]) throws(Dom0Error) {
        try put(kernelStatePath(driver, dynamic ? "new_ids" : "ids"), ids.map { "\($0)\n" }.joined())
    }

    /// pciback's seized slots, as its `slots` attribute lists them.
    func slots(_ driver: String) throws(Dom0Error) -> [BDF] {
        (try text(Self.drivers.appending(driver).appending("slots")) ?? "").split(separator: "\n").compactMap { BDF($0) }
    }

    func setSlots(_ driver: String, _ slots: [BDF]) throws(Dom0Error) {
        try put(Self.drivers.appending(driver).appending("slots"), slots.map { "\($0)\n" }.joined(), mode: 0o444)
    }
}

/// A vendor:device pair in a driver's id table (0xffff in either place matches any, like PCI_ANY_ID).
public struct PCIID: Sendable, Hashable, CustomStringConvertible {
    /// The vendor id.
    public var vendor: UInt16
    /// The device id.
    public var device: UInt16

    /// An id pair.
    public init(vendor: UInt16, device: UInt16) {
        self.vendor = vendor
        self.device = device
    }

    /// Parses "vvvv dddd [...]" as `new_id` takes it (further fields ignored).
    init?(_ text: some StringProtocol) {
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let vendor = UInt16(fields[0], radix: 16), let device = UInt16(fields[1], radix: 16) else {
            return nil
        }
        self.init(vendor: vendor, device: device)
    }

    func matches(vendor: UInt16, device: UInt16) -> Bool {
        (self.vendor == 0xffff || self.vendor == vendor) && (self.device == 0xffff || self.device == device)
    }

    public var description: String { hex(vendor) + " " + hex(device) }

    private func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
