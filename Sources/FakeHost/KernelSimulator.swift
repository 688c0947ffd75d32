import Dispatch
import Dom0Core
import PCIDevices
import Synchronization
import SystemPackage

/// Does what the Linux kernel does when a fake host's PCI attributes are written, before the
/// write returns, as the kernel does for bind and unbind (Documentation/ABI/testing/sysfs-bus-pci):
///
/// - `drivers/<d>/bind` binds (ENODEV for no such device or a driver that will not take it,
///   EBUSY when the device already has a driver); `unbind` releases (ENODEV when not bound to it);
/// - `drivers_probe` binds per `driver_override`, else the first driver whose id table matches,
///   and succeeds even when nothing binds;
/// - `driver_override` stores a driver name; an empty write clears it and it reads `(null)`;
/// - `new_id` adds to the id table and binds matching unbound devices; `remove_id` removes;
/// - pciback's `new_slot` seizes a slot (duplicates and all: it is not idempotent), `remove_slot` frees it;
/// - `sriov_numvfs` creates or removes VFs with their `physfn`/`virtfn*` links, probing them.
///
/// Failures can be injected per attribute (EBUSY once, say) to test how callers cope.
public final class KernelSimulator: SysfsWriter {
    private let tree: SysfsTree
    private let injected = Mutex<[FilePath: [Errno]]>([:])
    private let vanishing = Mutex<[FilePath: BDF]>([:])
    private let serial = Mutex(())

    /// A simulator for the fake host's tree.
    public init(_ host: FakeHost) {
        tree = host.tree
    }

    /// The simulator of the fake host tree at `root`, or nil when `root` is not one (a real host,
    /// or a tree made by other means): tools given `--root` on a fake host get its kernel.
    public static func forTree(at root: HostRoot) throws(Dom0Error) -> KernelSimulator? {
        guard !root.isSystem, try root.exists(SysfsTree.kernelState) else { return nil }
        return KernelSimulator(FakeHost(tree: SysfsTree(root: root)))
    }

    /// The next `times` writes to `attribute` (a host path, after links) fail with `errno`.
    public func injectFailure(_ errno: Errno, at attribute: FilePath, times: Int = 1) throws(Dom0Error) {
        let key = try canonical(attribute)
        injected.withLock { $0[key, default: []] += Array(repeating: errno, count: times) }
    }

    /// The device disappears (hot-unplug) when `attribute` is next written; that write fails with ENODEV.
    public func vanish(_ bdf: BDF, onWriteTo attribute: FilePath) throws(Dom0Error) {
        let key = try canonical(attribute)
        vanishing.withLock { $0[key] = bdf }
    }

    private func canonical(_ attribute: FilePath) throws(Dom0Error) -> FilePath {
        tree.root.hostPath(of: try tree.root.resolve(attribute)) ?? attribute
    }

    /// The time returned is the simulator's reaction: as the kernel's, what a bind costs beyond the caller.
    @discardableResult
    public func write(_ value: String, to attribute: FilePath, in root: HostRoot) throws(Dom0Error) -> Duration {
        let path = try canonical(attribute)
        let clock = ContinuousClock(), start = clock.now
        try serial.withLock { _ throws(Dom0Error) in
            if let failure = injected.withLock({ $0[path]?.isEmpty == false ? $0[path]?.removeFirst() : nil }) {
                throw KernelSysfs.attributeError(value, attribute, failure)
            }
            if let bdf = vanishing.withLock({ $0.removeValue(forKey: path) }) {
                try FakeHost(tree: tree).remove(bdf)
                throw KernelSysfs.attributeError(value, attribute, .operationNotSupportedByDevice)
            }
            // The attribute must exist, as in sysfs: a missing one is ENOENT, whatever its name.
            guard try FileSystem.status(tree.real(path)) != nil else {
                throw KernelSysfs.attributeError(value, attribute, .noSuchFileOrDirectory)
            }
            try react(value, path, attribute)
        }
        return clock.now - start
    }

    private func react(_ value: String, _ path: FilePath, _ attribute: FilePath) throws(Dom0Error) {
        let name = path.lastComponent?.string ?? ""
        let directory = path.removingLastComponent()
        let word = value.trimmingTrailingWhitespace
        func fail(_ errno: Errno) -> Dom0Error { KernelSysfs.attributeError(value, attribute, errno) }
        func device() throws(Dom0Error) -> BDF {
            guard let bdf = BDF(word) else { throw fail(.operationNotSupportedByDevice) }
            return bdf
        }

        if path == SysfsTree.driversProbe {
            let bdf = try device()
            _ = try tree.requireDevice(bdf, writing: attribute, value)
            try probe(bdf)
            return
        }
        if directory.removingLastComponent() == SysfsTree.drivers, let driver = directory.lastComponent?.string {
            switch name {
            case "bind":
                let bdf = try device()
                _ = try tree.requireDevice(bdf, writing: attribute, value)
                if try tree.boundDriver(bdf) != nil { throw fail(.resourceBusy) }
                guard try accepts(driver, bdf) else { throw fail(.operationNotSupportedByDevice) }
                try tree.bind(bdf, to: driver)
            case "unbind":
                let bdf = try device()
                guard try tree.boundDriver(bdf) == driver else { throw fail(.operationNotSupportedByDevice) }
                try tree.unbind(bdf, from: driver)
            case "new_id":
                guard let id = PCIID(word) else { throw fail(.invalidArgument) }
                var ids = try tree.ids(driver, dynamic: true)
                guard !ids.contains(id) else { throw fail(.fileExists) }
                ids.append(id)
                try tree.setIDs(driver, dynamic: true, ids)
                // The kernel attaches the driver to every unbound device the new id matches.
                for bdf in try tree.allDevices() where try tree.boundDriver(bdf) == nil {
                    if try accepts(driver, bdf) { try tree.bind(bdf, to: driver) }
                }
            case "remove_id":
                guard let id = PCIID(word) else { throw fail(.invalidArgument) }
                var ids = try tree.ids(driver, dynamic: true)
                guard let index = ids.firstIndex(of: id) else { throw fail(.operationNotSupportedByDevice) }
                ids.remove(at: index)
                try tree.setIDs(driver, dynamic: true, ids)
            case "new_slot":
                guard let bdf = BDF(word) else { throw fail(.invalidArgument) }
                try tree.setSlots(driver, tree.slots(driver) + [bdf])
            case "remove_slot":
                guard let bdf = BDF(word) else { throw fail(.invalidArgument) }
                let slots = try tree.slots(driver)
                guard slots.contains(bdf) else { throw fail(.noSuchFileOrDirectory) }
                try tree.setSlots(driver, slots.filter { $0 != bdf })
            case "slots":
                throw fail(.permissionDenied)
            default:
                try KernelSysfs.writeAttribute(value, to: tree.real(path), hostPath: attribute)
            }
            return
        }
        switch name {
        case "driver_override":
            try KernelSysfs.writeAttribute(word.isEmpty ? "(null)\n" : word + "\n", to: tree.real(path), hostPath: attribute)
        case "sriov_numvfs":
            guard let count = Int(word), count >= 0 else { throw fail(.invalidArgument) }
            try setVFs(count, physicalFunction: directory, value: value, attribute: attribute)
        case "vendor", "device", "class", "subsystem_vendor", "subsystem_device", "revision", "modalias",
             "sriov_totalvfs", "sriov_offset", "sriov_stride", "sriov_vf_device":
            throw fail(.permissionDenied)
        default:
            try KernelSysfs.writeAttribute(value, to: tree.real(path), hostPath: attribute)
        }
    }

    /// Whether `driver` would bind `bdf`: the kernel's match (override first, then id tables)
    /// followed by the driver's own probe decision.
    private func accepts(_ driver: String, _ bdf: BDF) throws(Dom0Error) -> Bool {
        let override = try tree.driverOverride(bdf)
        if let override { return override == driver }
        switch try tree.driverKind(driver) {
        case .pciback:
            return try tree.slots(driver).contains(bdf)
        case .plain:
            guard let vendor = try tree.hexAttribute(bdf, "vendor"), let device = try tree.hexAttribute(bdf, "device") else {
                return false
            }
            let ids = try tree.ids(driver, dynamic: false) + tree.ids(driver, dynamic: true)
            return ids.contains { $0.matches(vendor: UInt16(vendor), device: UInt16(device)) }
        }
    }

    private func probe(_ bdf: BDF) throws(Dom0Error) {
        guard try tree.boundDriver(bdf) == nil else { return }
        for driver in try tree.allDrivers() {
            if try accepts(driver, bdf) {
                // Drivers that probe asynchronously take the device a little after drivers_probe returns.
                if let delay = try tree.text(tree.kernelStatePath(driver, "async_probe_ms")).flatMap({ Int($0.trimmingWhitespace) }) {
                    let tree = self.tree
                    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { try? tree.bind(bdf, to: driver) }
                } else {
                    try tree.bind(bdf, to: driver)
                }
                return
            }
        }
    }

    private func setVFs(_ count: Int, physicalFunction directory: FilePath, value: String, attribute: FilePath) throws(Dom0Error) {
        func fail(_ errno: Errno) -> Dom0Error { KernelSysfs.attributeError(value, attribute, errno) }
        guard let pfName = directory.lastComponent?.string, let pf = BDF(pfName),
              let total = try tree.intAttribute(directory, "sriov_totalvfs"),
              let current = try tree.intAttribute(directory, "sriov_numvfs") else { throw fail(.noSuchFileOrDirectory) }
        guard count <= total else { throw fail(.outOfRange) }
        guard count != current else { return }
        guard current == 0 || count == 0 else { throw fail(.resourceBusy) }
        // The PF's driver creates the VFs; without one there is nobody to ask.
        guard try tree.boundDriver(pf) != nil else { throw fail(.noSuchFileOrDirectory) }

        if count == 0 {
            for index in 0..<current {
                let link = directory.appending("virtfn\(index)")
                if let vfDirectory = tree.root.hostPath(of: try tree.root.resolve(link)),
                   let vf = vfDirectory.lastComponent.flatMap({ BDF($0.string) }) {
                    try FakeHost(tree: tree).remove(vf)
                }
                try tree.removeLink(link)
            }
        } else {
            let offset = try tree.intAttribute(directory, "sriov_offset") ?? 1
            let stride = try tree.intAttribute(directory, "sriov_stride") ?? 1
            let vfDevice = try tree.text(directory.appending("sriov_vf_device")).flatMap { UInt16($0.trimmingTrailingWhitespace, radix: 16) } ?? 0
            guard let vendor = try tree.hexAttribute(pf, "vendor"), let classCode = try tree.hexAttribute(pf, "class") else {
                throw fail(.operationNotSupportedByDevice)
            }
            let parent = try parentBridge(of: directory)
            let host = FakeHost(tree: tree)
            var nextGroup = try (FileSystem.entries(tree.real(SysfsTree.iommuGroups)).compactMap(Int.init).max() ?? -1) + 1
            let hasGroups = try tree.root.exists(directory.appending("iommu_group"))
            for index in 0..<count {
                let routingID = Int(pf.bus) << 8 | Int(pf.device) << 3 | Int(pf.function)
                let vfRoutingID = routingID + offset + index * stride
                guard vfRoutingID <= 0xffff,
                      let vf = BDF(domain: pf.domain, bus: UInt8(vfRoutingID >> 8), device: UInt8((vfRoutingID >> 3) & 0x1f),
                                   function: UInt8(vfRoutingID & 7)) else { throw fail(.outOfRange) }
                var spec = FakePCIDevice(vf, vendor: UInt16(vendor), device: vfDevice, classCode: classCode,
                                         iommuGroup: hasGroups ? nextGroup : nil, parent: parent)
                spec.hasDriverOverride = try tree.root.exists(directory.appending("driver_override"))
                try host.add(spec)
                nextGroup += 1
                let vfDirectory = try tree.deviceDirectory(vf) ?? directory
                try tree.link(vfDirectory.appending("physfn"), to: directory)
                try tree.link(directory.appending("virtfn\(index)"), to: vfDirectory)
            }
            if try tree.intAttribute(directory, "sriov_drivers_autoprobe") == 1 {
                for index in 0..<count {
                    let vfDirectory = tree.root.hostPath(of: try tree.root.resolve(directory.appending("virtfn\(index)")))
                    if let name = vfDirectory?.lastComponent?.string, let vf = BDF(name) { try probe(vf) }
                }
            }
        }
        try KernelSysfs.writeAttribute("\(count)\n", to: tree.real(directory.appending("sriov_numvfs")), hostPath: attribute)
    }

    /// The bridge a device's directory nests under, if any (VFs sit beside their PF).
    private func parentBridge(of directory: FilePath) throws(Dom0Error) -> BDF? {
        directory.removingLastComponent().lastComponent.flatMap { BDF($0.string) }
    }
}
