import Dom0Core
import Logging
import SystemPackage

/// What happened to one device.
public enum BindOutcome: String, Sendable, Encodable {
    /// It was already on its target.
    case alreadyBound
    /// It is now on its target.
    case bound
    /// It was left alone on purpose (dom0 needs it, or its IOMMU group is not viable).
    case refused
    /// It disappeared while being bound (hot-unplug, VFs removed).
    case vanished
    /// Binding did not work.
    case failed
    /// Would be bound (a dry run changes nothing).
    case pending
}

/// Where a bind's time went: the kernel's own work happens inside the attribute writes (unbind,
/// drivers_probe and bind run the drivers' remove and probe before the write returns); waiting is
/// time the binder spends idle until asynchronous probes finish or modprobe returns. The rest of
/// a pass is Dom0Kit's own: reading the bus and the rules, the checks, the bookkeeping.
public struct BindTiming: Sendable, Equatable {
    public var kernel: Duration = .zero
    public var waiting: Duration = .zero

    public init(kernel: Duration = .zero, waiting: Duration = .zero) {
        self.kernel = kernel
        self.waiting = waiting
    }
}

/// Binds devices to pciback, vfio-pci or pci-stub the way the kernel documents: driver_override,
/// unbind, drivers_probe, then check the driver link — drivers_probe succeeds even when nothing
/// binds, and some drivers probe asynchronously. On kernels without driver_override, pciback is
/// given the slot with new_slot (once: it is not idempotent) and bound directly.
public struct Binder: Sendable {
    public let root: HostRoot
    public let sysfs: any SysfsWriter
    public let runner: CommandRunner
    /// How long to wait for an asynchronous probe.
    public var probeTimeout: Duration = .seconds(2)
    /// How many times a write answered with EBUSY is tried again (with doubling waits from 20 ms).
    public var busyRetries = 5

    public init(root: HostRoot, sysfs: any SysfsWriter = KernelSysfs(), runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.sysfs = sysfs
        self.runner = runner
    }

    static let logger = Logger(label: "dom0kit.binder")

    /// Binds devices, each to its driver: every device's writes first, then one wait for all the
    /// driver links, so asynchronous probes overlap instead of queueing behind each other (a storm
    /// of 1,024 VFs waits about as long as one). Devices going to vfio-pci together count as viable
    /// in each other's IOMMU groups. Refusals are outcomes, not errors; `force` overrides them.
    /// Each device is as the caller just read it.
    /// `timing` gains where the time went.
    public func bind(_ requests: [(device: PCIDevice, driver: PassthroughDriver)], force: Bool = false,
                     timing: inout BindTiming) async throws(Dom0Error) -> [BDF: (BindOutcome, String)] {
        let bus = PCIBus(root: root)
        let refused = try refusals(requests, bus: bus)
        var results: [BDF: (BindOutcome, String)] = [:]
        var probing: [BDF: PassthroughDriver] = [:]
        var loaded: Set<PassthroughDriver> = []
        var directories: Set<FilePath> = []  // one resolution of /sys/bus/pci/... for all the writes
        for (device, driver) in requests {
            if let finished = try await start(device, to: driver, refusal: refused[device.bdf], force: force,
                                              loaded: &loaded, bus: bus, timing: &timing, directories: &directories) {
                results[device.bdf] = finished
            } else {
                probing[device.bdf] = driver
            }
        }
        return results.merging(try await settle(probing, bus: bus, timing: &timing)) { first, _ in first }
    }

    /// Everything up to the probe: checks, module, attribute writes. nil when the device is now
    /// being probed; else how it ended.
    private func start(_ device: PCIDevice, to driver: PassthroughDriver, refusal: BindRefusal?, force: Bool,
                       loaded: inout Set<PassthroughDriver>, bus: PCIBus, timing: inout BindTiming,
                       directories: inout Set<FilePath>) async throws(Dom0Error) -> (BindOutcome, String)? {
        let bdf = device.bdf
        if device.driver == driver.rawValue { return (.alreadyBound, "already on \(driver)") }
        if let refusal {
            guard force else { return (.refused, refusal.description) }
            Self.logger.critical("binding \(bdf) to \(driver) although \(refusal.reason) (--force)",
                                 metadata: ["bdf": "\(bdf)", "MESSAGE_ID": "\(MessageID.forced)"])
        }
        if !loaded.contains(driver) {
            let clock = ContinuousClock(), loading = clock.now
            try await loadModule(driver, bus: bus)
            timing.waiting += clock.now - loading
            loaded.insert(driver)
        }
        let device0 = bdf.description
        do {
            if try bus.hasDriverOverride(bdf) {
                timing.kernel += try await write(driver.rawValue, "/sys/bus/pci/devices/\(device0)/driver_override", &directories)
                if let current = device.driver { timing.kernel += try await write(device0, "/sys/bus/pci/drivers/\(current)/unbind", &directories) }
                timing.kernel += try await write(device0, "/sys/bus/pci/drivers_probe", &directories)
            } else {
                guard driver == .pciback else {
                    return (.failed, "this kernel has no driver_override; only pciback can take \(bdf) (with new_slot)")
                }
                if try !bus.pcibackSlots().contains(bdf) {
                    timing.kernel += try await write(device0, "/sys/bus/pci/drivers/pciback/new_slot", &directories)
                }
                if let current = device.driver { timing.kernel += try await write(device0, "/sys/bus/pci/drivers/\(current)/unbind", &directories) }
                timing.kernel += try await write(device0, "/sys/bus/pci/drivers/pciback/bind", &directories)
            }
        } catch {
            if try bus.device(bdf) == nil { return (.vanished, "\(bdf) disappeared while being bound") }
            return (.failed, error.description)
        }
        return nil
    }

    /// Waits for the driver links: drivers_probe returns whether or not a driver took the device,
    /// and some drivers probe asynchronously. Looks again after 1 ms, then less and less often.
    /// Only the pauses count as waiting in `timing`: looking at the links is Dom0Kit's own work.
    private func settle(_ probing: [BDF: PassthroughDriver], bus: PCIBus, timing: inout BindTiming)
        async throws(Dom0Error) -> [BDF: (BindOutcome, String)] {
        var results: [BDF: (BindOutcome, String)] = [:]
        var waiting = probing
        let deadline = ContinuousClock.now + probeTimeout
        var pause = Duration.milliseconds(1)
        while !waiting.isEmpty {
            let expired = ContinuousClock.now >= deadline
            for (bdf, driver) in waiting {
                let now = try bus.driver(of: bdf)
                if now != driver.rawValue, try !bus.isPresent(bdf) {
                    results[bdf] = (.vanished, "\(bdf) disappeared while being probed")
                } else if now == driver.rawValue {
                    results[bdf] = (.bound, "bound to \(driver)")
                } else if expired {
                    results[bdf] = (.failed, "\(driver) did not take \(bdf) within \(probeTimeout) (driver: \(now ?? "none"))")
                } else {
                    continue
                }
                waiting[bdf] = nil
            }
            if waiting.isEmpty { break }
            let clock = ContinuousClock(), paused = clock.now
            try? await Task.sleep(for: pause)
            timing.waiting += clock.now - paused
            pause = min(pause * 2, .milliseconds(50))
        }
        return results
    }

    /// Puts a device back: driver_override cleared, then probed by whichever driver wants it.
    public func restore(_ bdf: BDF) async throws(Dom0Error) {
        let bus = PCIBus(root: root)
        guard let device = try bus.device(bdf) else {
            throw Dom0Error(.usage, "no such device", at: bdf.description, fix: "lspci -D lists the devices on the bus")
        }
        var directories: Set<FilePath> = []
        if try bus.hasDriverOverride(bdf) { try await write("\n", "/sys/bus/pci/devices/\(bdf)/driver_override", &directories) }
        if let current = device.driver, PassthroughDriver(rawValue: current) != nil {
            try await write(bdf.description, "/sys/bus/pci/drivers/\(current)/unbind", &directories)
        }
        try await write(bdf.description, "/sys/bus/pci/drivers_probe", &directories)
    }

    /// Which of these binds would be refused, and why with what to do: dom0 needs the device (its
    /// root disk's controller, its default route's NIC), or its IOMMU group is not viable for
    /// vfio-pci. Devices going to vfio-pci together count as viable in each other's groups. The
    /// one rule for binding, dry runs and health.
    public func refusals(_ requests: [(device: PCIDevice, driver: PassthroughDriver)], bus: PCIBus? = nil)
        throws(Dom0Error) -> [BDF: BindRefusal] {
        let bus = bus ?? PCIBus(root: root)
        let pending = requests.filter { $0.device.driver != $0.driver.rawValue }
        guard !pending.isEmpty else { return [:] }
        let guarded = try DeviceGuard(root: root).protected()
        let companions = Set(requests.filter { $0.driver == .vfioPCI }.map(\.device.bdf))
        var result: [BDF: BindRefusal] = [:]
        for (device, driver) in pending {
            if let refusal = guarded[device.bdf] {
                result[device.bdf] = refusal
            } else if driver == .vfioPCI, let group = device.iommuGroup {
                let offenders = try bus.groupOffenders(of: device, companions: companions)
                if !offenders.isEmpty {
                    result[device.bdf] = BindRefusal(
                        reason: "IOMMU group \(group) is not viable: " + offenders.joined(separator: ", ") + " stay with dom0",
                        fix: "hide the whole group (add them to the rules) or use pciback")
                }
            }
        }
        return result
    }

    private func loadModule(_ driver: PassthroughDriver, bus: PCIBus) async throws(Dom0Error) {
        guard try !bus.hasDriver(driver.rawValue) else { return }
        guard root.isSystem else {
            throw Dom0Error("the \(driver) driver is not loaded", at: root.path.string, fix: "load \(driver.module) first")
        }
        try await runner.check(["modprobe", driver.module])
    }

    /// One attribute write, tried again while the kernel answers EBUSY; returns the time the
    /// kernel spent on it (the last try's: a refused try's write returns at once).
    @discardableResult
    private func write(_ value: String, _ attribute: String, _ directories: inout Set<FilePath>) async throws(Dom0Error) -> Duration {
        var wait = Duration.milliseconds(20)
        for attempt in 0...busyRetries {
            do {
                return try sysfs.write(value, to: FilePath(attribute), in: root, directories: &directories)
            } catch where error.errno == .resourceBusy && attempt < busyRetries {
                try? await Task.sleep(for: wait)
                wait *= 2
            }
        }
        return .zero
    }
}
