import Glibc
import Dom0Core
import PCIDevices
import SystemPackage

/// A PCI driver on a fake host.
public struct FakeDriver: Sendable {
    /// How the driver decides whether to take a device.
    public enum Kind: String, Sendable {
        /// Takes devices its id table (or `driver_override`) matches.
        case plain
        /// xen-pciback: matches every device, but only takes those seized through `new_slot`
        /// (or the boot-time hide list) or whose `driver_override` names it.
        case pciback
    }

    /// The name under /sys/bus/pci/drivers.
    public var name: String
    /// The static id table (what the module's aliases would say).
    public var ids: [PCIID]
    /// How it probes.
    public var kind: Kind

    /// A driver; pciback's name is `pciback`, as the kernel registers it.
    public init(_ name: String, ids: [PCIID] = [], kind: Kind = .plain) {
        self.name = name
        self.ids = ids
        self.kind = kind
    }

    /// xen-pciback.
    public static let pciback = FakeDriver("pciback", kind: .pciback)
    /// vfio-pci, which has no static ids: it binds through `driver_override` or `new_id`.
    public static let vfioPCI = FakeDriver("vfio-pci")
    /// pci-stub.
    public static let pciStub = FakeDriver("pci-stub")
}

/// A PCI function on a fake host.
public struct FakePCIDevice: Sendable {
    /// Its address.
    public var bdf: BDF
    /// Vendor and device ids.
    public var vendor: UInt16, device: UInt16
    /// Subsystem ids.
    public var subsystemVendor: UInt16, subsystemDevice: UInt16
    /// The 24-bit class code (0x030000 VGA, 0x020000 Ethernet, 0x040300 audio, 0x060400 bridge).
    public var classCode: UInt32
    /// The driver it is bound to at boot, if any.
    public var driver: String?
    /// Its IOMMU group, if the host has an IOMMU.
    public var iommuGroup: Int?
    /// The bridge it sits behind (its sysfs directory nests under the bridge's).
    public var parent: BDF?
    /// SR-IOV: how many VFs it can have (0: not SR-IOV capable), their device id, offset and stride.
    public var totalVFs: Int, vfDevice: UInt16, vfOffset: Int, vfStride: Int
    /// Whether the kernel has `driver_override` (3.16 and later).
    public var hasDriverOverride: Bool

    /// A device; subsystem ids default to the device's own.
    public init(_ bdf: BDF, vendor: UInt16, device: UInt16, classCode: UInt32, driver: String? = nil,
                iommuGroup: Int? = nil, parent: BDF? = nil, subsystemVendor: UInt16? = nil,
                subsystemDevice: UInt16? = nil, totalVFs: Int = 0, vfDevice: UInt16 = 0, vfOffset: Int = 1,
                vfStride: Int = 1, hasDriverOverride: Bool = true) {
        self.bdf = bdf
        self.vendor = vendor
        self.device = device
        self.classCode = classCode
        self.driver = driver
        self.iommuGroup = iommuGroup
        self.parent = parent
        self.subsystemVendor = subsystemVendor ?? vendor
        self.subsystemDevice = subsystemDevice ?? device
        self.totalVFs = totalVFs
        self.vfDevice = vfDevice
        self.vfOffset = vfOffset
        self.vfStride = vfStride
        self.hasDriverOverride = hasDriverOverride
    }
}

/// Lays out a host tree in a directory: sysfs PCI devices and drivers, IOMMU groups, the
/// hypervisor nodes, /proc files and configuration files, as the kernel and distributions
/// present them. Real Dom0Kit code then runs against it through a `HostRoot`.
public struct FakeHost: Sendable {
    /// The tree, as a host root.
    public let root: HostRoot
    let tree: SysfsTree

    /// Creates the skeleton of a host in `directory` (which is created if missing): an empty PCI
    /// bus with `drivers_probe`, no IOMMU groups, and `/proc/cmdline`.
    public init(at directory: FilePath) throws(Dom0Error) {
        try FileSystem.createDirectories(directory)
        root = try HostRoot(directory)
        tree = SysfsTree(root: root)
        for path: FilePath in [SysfsTree.devices, SysfsTree.drivers, "/sys/devices", SysfsTree.iommuGroups, "/proc", "/etc"] {
            try FileSystem.createDirectories(root.resolve(path))
        }
        try tree.put(SysfsTree.driversProbe, "", mode: 0o200)
        try tree.put("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=LABEL=root-dom0kit ro quiet\n")
    }

    init(tree: SysfsTree) {
        self.root = tree.root
        self.tree = tree
    }

    /// Adds a driver with its attributes: bind, unbind, new_id, remove_id, and for pciback
    /// new_slot, remove_slot, slots, permissive and quirks.
    public func add(_ driver: FakeDriver) throws(Dom0Error) {
        let directory = SysfsTree.drivers.appending(driver.name)
        for attribute in ["bind", "unbind", "new_id", "remove_id", "uevent"] {
            try tree.put(directory.appending(attribute), "", mode: 0o200)
        }
        if driver.kind == .pciback {
            for attribute in ["new_slot", "remove_slot", "permissive", "quirks"] {
                try tree.put(directory.appending(attribute), "", mode: 0o200)
            }
            try tree.setSlots(driver.name, [])
        }
        try tree.setIDs(driver.name, dynamic: false, driver.ids)
        try tree.setIDs(driver.name, dynamic: true, [])
        try tree.put(tree.kernelStatePath(driver.name, "kind"), driver.kind.rawValue + "\n")
    }

    /// Adds a device: its directory under /sys/devices, the /sys/bus/pci/devices link, its
    /// attributes, its driver binding and its IOMMU group. Drivers it names must exist.
    public func add(_ device: FakePCIDevice) throws(Dom0Error) {
        let directory = try deviceDirectory(for: device)
        let attributes: [(String, String)] = [
            ("vendor", hex(device.vendor, 4)), ("device", hex(device.device, 4)),
            ("subsystem_vendor", hex(device.subsystemVendor, 4)), ("subsystem_device", hex(device.subsystemDevice, 4)),
            ("class", hex(device.classCode, 6)), ("revision", "0x00"),
            ("modalias", modalias(device)),
        ]
        for (name, value) in attributes { try tree.put(directory.appending(name), value + "\n", mode: 0o444) }
        // What the kernel's pci_uevent() shows, from the device as enumerated (reading it wakes no hardware).
        try tree.put(directory.appending("uevent"), "PCI_CLASS=\(String(device.classCode, radix: 16).uppercased())\n"
                     + "PCI_ID=\(upperHex(device.vendor, 4)):\(upperHex(device.device, 4))\n"
                     + "PCI_SUBSYS_ID=\(upperHex(device.subsystemVendor, 4)):\(upperHex(device.subsystemDevice, 4))\n"
                     + "PCI_SLOT_NAME=\(device.bdf)\nMODALIAS=\(modalias(device))\n")
        for name in ["remove", "rescan", "reset"] { try tree.put(directory.appending(name), "", mode: 0o200) }
        if device.hasDriverOverride { try tree.put(directory.appending("driver_override"), "(null)\n") }
        if device.totalVFs > 0 {
            try tree.put(directory.appending("sriov_totalvfs"), "\(device.totalVFs)\n", mode: 0o444)
            try tree.put(directory.appending("sriov_numvfs"), "0\n")
            try tree.put(directory.appending("sriov_offset"), "\(device.vfOffset)\n", mode: 0o444)
            try tree.put(directory.appending("sriov_stride"), "\(device.vfStride)\n", mode: 0o444)
            try tree.put(directory.appending("sriov_vf_device"), hex(device.vfDevice, 4, prefix: false) + "\n", mode: 0o444)
            try tree.put(directory.appending("sriov_drivers_autoprobe"), "1\n")
        }
        try tree.link(directory.appending("subsystem"), to: "/sys/bus/pci")
        try tree.link(SysfsTree.devices.appending(device.bdf.description), to: directory)
        if let group = device.iommuGroup { try addToIOMMUGroup(device.bdf, directory: directory, group: group) }
        if let driver = device.driver {
            guard try tree.driverExists(driver) else {
                throw Dom0Error(.usage, "fake device \(device.bdf) names driver \(driver), which the host lacks",
                                fix: "add the driver first")
            }
            try tree.bind(device.bdf, to: driver)
        }
    }

    private func deviceDirectory(for device: FakePCIDevice) throws(Dom0Error) -> FilePath {
        guard let parent = device.parent else {
            return FilePath("/sys/devices/pci\(hex(device.bdf.domain, 4, prefix: false)):\(hex(device.bdf.bus, 2, prefix: false))")
                .appending(device.bdf.description)
        }
        guard let parentDirectory = try tree.deviceDirectory(parent) else {
            throw Dom0Error(.usage, "fake device \(device.bdf) sits behind \(parent), which the host lacks")
        }
        return parentDirectory.appending(device.bdf.description)
    }

    func addToIOMMUGroup(_ bdf: BDF, directory: FilePath, group: Int) throws(Dom0Error) {
        let groupDirectory = SysfsTree.iommuGroups.appending("\(group)")
        if try !root.exists(groupDirectory.appending("type")) {
            try tree.put(groupDirectory.appending("type"), "DMA\n", mode: 0o444)
            try tree.put(groupDirectory.appending("reserved_regions"), "", mode: 0o444)
        }
        try tree.link(groupDirectory.appending("devices").appending(bdf.description), to: directory)
        try tree.link(directory.appending("iommu_group"), to: groupDirectory)
    }

    /// Removes a device as a hot-unplug does: its driver binding, group membership, links and directory.
    public func remove(_ bdf: BDF) throws(Dom0Error) {
        guard let directory = try tree.deviceDirectory(bdf) else { return }
        if let driver = try tree.boundDriver(bdf) { try tree.unbind(bdf, from: driver) }
        let groupLink = try root.resolve(directory.appending("iommu_group"), followFinalLink: false)
        if try FileSystem.status(groupLink) != nil, let group = try FileSystem.readLink(groupLink).lastComponent?.string {
            try tree.removeLink(SysfsTree.iommuGroups.appending(group).appending("devices").appending(bdf.description))
        }
        try tree.removeLink(SysfsTree.devices.appending(bdf.description))
        try FileSystem.removeTree(root.resolve(directory))
    }

    /// Makes a driver probe asynchronously: it takes a device `milliseconds` after drivers_probe returns.
    public func setAsynchronousProbe(_ driver: String, milliseconds: Int) throws(Dom0Error) {
        try tree.put(tree.kernelStatePath(driver, "async_probe_ms"), "\(milliseconds)\n")
    }

    /// Marks a group's reserved regions (an RMRR shows as a `direct` region).
    public func setReservedRegions(group: Int, _ regions: String) throws(Dom0Error) {
        try tree.put(SysfsTree.iommuGroups.appending("\(group)").appending("reserved_regions"), regions, mode: 0o444)
    }

    /// Makes this a Xen dom0: /sys/hypervisor (type xen, features with bit 11, XENFEAT_dom0) and
    /// /proc/xen/capabilities with control_d.
    public func makeXenDom0(version: (major: Int, minor: Int) = (4, 17)) throws(Dom0Error) {
        try tree.put("/sys/hypervisor/type", "xen\n", mode: 0o444)
        try tree.put("/sys/hypervisor/version/major", "\(version.major)\n", mode: 0o444)
        try tree.put("/sys/hypervisor/version/minor", "\(version.minor)\n", mode: 0o444)
        try tree.put("/sys/hypervisor/properties/features", "00000805\n", mode: 0o444)
        try tree.put("/proc/xen/capabilities", "control_d\n", mode: 0o444)
    }

    /// Says the host booted through UEFI (/sys/firmware/efi exists).
    public func makeUEFI() throws(Dom0Error) {
        try FileSystem.createDirectories(root.resolve("/sys/firmware/efi/efivars"))
    }

    /// Sets the running kernel's command line.
    public func setKernelCommandLine(_ line: String) throws(Dom0Error) {
        try tree.put("/proc/cmdline", line.hasSuffix("\n") ? line : line + "\n", mode: 0o444)
    }

    /// Writes any other host file (grub.cfg, /etc/default/grub, /etc/os-release, unit files).
    public func write(_ hostPath: FilePath, _ text: String, mode: mode_t = 0o644) throws(Dom0Error) {
        try tree.put(hostPath, text, mode: mode)
    }

    /// Creates a sparse file of `size` bytes (a disk image) at a host path.
    public func sparseFile(_ hostPath: FilePath, size: Int64) throws(Dom0Error) {
        try tree.put(hostPath, "")
        let path = try root.resolve(hostPath)
        guard path.withPlatformString({ truncate($0, off_t(size)) }) == 0 else {
            throw .system("cannot size the disk image", at: path.string, Errno(rawValue: errno))
        }
    }

    private func modalias(_ device: FakePCIDevice) -> String {
        return "pci:v0000\(upperHex(device.vendor, 4))d0000\(upperHex(device.device, 4))sv0000\(upperHex(device.subsystemVendor, 4))"
            + "sd0000\(upperHex(device.subsystemDevice, 4))bc\(upperHex(device.classCode >> 16, 2))"
            + "sc\(upperHex((device.classCode >> 8) & 0xff, 2))i\(upperHex(device.classCode & 0xff, 2))"
    }
}

/// "10DE": hex as uevent and modalias print ids.
func upperHex(_ value: some BinaryInteger, _ width: Int) -> String { hex(value, width, prefix: false).uppercased() }

/// "0x10de": hex as sysfs prints ids, zero-padded to `width` digits.
func hex(_ value: some BinaryInteger, _ width: Int, prefix: Bool = true) -> String {
    let digits = String(value, radix: 16)
    return (prefix ? "0x" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
}
