import Dom0Core
import PCIDevices
import SystemPackage

/// Each hidden device: present, on its target driver, its IOMMU group viable; USB controllers
/// and RMRR-constrained groups warned about. The bus is read once: hosts have thousands of functions.
struct HiddenDevicesCheck: HealthCheck {
    let subject = "hidden devices"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let rules = try BindRules.load(context.root)
        guard !rules.isEmpty else { return [CheckResult(subject, .pass, "none hidden")] }
        let devices = try PCIBus(root: context.root).all()
        let present = Set(devices.map(\.bdf))
        var results: [CheckResult] = []
        var missing: Set<BDF> = []
        for rule in rules.rules {
            if case .slot(let pattern) = rule.match, let address = pattern.address, !present.contains(address),
               missing.insert(address).inserted {
                // Listed by the kernel but unreadable is another fault than absent: say which.
                let listed = try context.root.exists(PCIBus.devices.appending(address.description))
                results.append(CheckResult("hidden device \(address)", .fail, listed
                    ? "listed on the bus, but its uevent has no well-formed PCI_ID line (\(rule.source))"
                    : "not present on the bus (\(rule.source))"))
            }
        }
        let targets = devices.compactMap { device in rules.target(for: device).map { (device: device, driver: $0.driver) } }
        // Advise what pciback-agent would do: the same refusals, so the advice is never a command it refuses.
        let refused = try Binder(root: context.root).refusals(targets)
        let groups = try groupFacts(of: targets, on: devices, context.root)
        for (device, driver) in targets {
            let what = "hidden device \(device.bdf)"
            guard device.driver == driver.rawValue else {
                let advice = refused[device.bdf].map { "pciback-agent refuses it: \($0)" } ?? "run pciback-agent once"
                results.append(CheckResult(what, .fail, "on \(device.driver ?? "no driver"), not \(driver); \(advice)"))
                continue
            }
            results.append(CheckResult(what, .pass, "on \(driver)"))
            if device.classCode >> 8 == 0x0c03 {
                results.append(CheckResult(what, .warn, "a USB controller: its ports and what is plugged in go with it"))
            }
            guard let group = device.iommuGroup, let facts = groups[group] else { continue }
            if !facts.offenders.isEmpty {
                results.append(CheckResult(what, driver == .vfioPCI ? .fail : .warn,
                                           "IOMMU group \(group) shared with " + facts.offenders.joined(separator: ", ")))
            }
            if facts.directMapped {
                results.append(CheckResult(what, .warn, "RMRR (a direct-mapped reserved region): passthrough may fail or be unsafe"))
            }
        }
        return results
    }

    /// What health says of each group a hidden device on its driver is in, found once per group: the
    /// members on a dom0 driver (the device, on a passthrough one, is never among them) and whether
    /// the group has a direct-mapped region.
    private func groupFacts(of targets: [(device: PCIDevice, driver: PassthroughDriver)], on devices: [PCIDevice],
                            _ root: HostRoot) throws(Dom0Error) -> [Int: (offenders: [String], directMapped: Bool)] {
        var members: [Int: [PCIDevice]] = [:]
        for (device, driver) in targets where device.driver == driver.rawValue {
            if let group = device.iommuGroup { members[group] = [] }
        }
        guard !members.isEmpty else { return [:] }
        for device in devices {
            if let group = device.iommuGroup, members[group] != nil { members[group]?.append(device) }
        }
        var facts: [Int: (offenders: [String], directMapped: Bool)] = [:]
        for (group, members) in members {
            facts[group] = (PCIBus.offenders(among: members, besides: nil), try hasDirectRegion(group, root))
        }
        return facts
    }

    /// Whether a group has an RMRR (a `direct` reserved region): a sysfs attribute, read in the stack.
    private func hasDirectRegion(_ group: Int, _ root: HostRoot) throws(Dom0Error) -> Bool {
        var directories: Set<FilePath> = []
        let direct = try root.withDirectory(entry: String(group), of: "/sys/kernel/iommu_groups", directories: &directories) {
            group throws(Dom0Error) in
            try group.withAttribute("reserved_regions") { regions in
                regions.split(separator: UInt8(ascii: "\n")).contains { $0.count >= 7 && $0.suffix(7).elementsEqual(" direct".utf8) }
            }
        }
        return (direct ?? nil) ?? false
    }
}
