import Dom0Core
import PCIDevices
import SystemPackage

/// Each hidden device: present, on its target driver, its IOMMU group viable; USB controllers
/// and RMRR-constrained groups warned about. The bus is read once: hosts have thousands of functions.
struct HiddenDevicesCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let rules = try BindRules.load(context.root)
        guard !rules.isEmpty else { return [CheckResult("hidden devices", .pass, "none hidden")] }
        let devices = try PCIBus(root: context.root).all()
        let present = Set(devices.map(\.bdf))
        let groups = Dictionary(grouping: devices.filter { $0.iommuGroup != nil }) { $0.iommuGroup ?? 0 }
        var directMapped: [Int: Bool] = [:]
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
            guard let group = device.iommuGroup else { continue }
            let offenders = PCIBus.offenders(among: groups[group] ?? [], besides: device.bdf)
            if !offenders.isEmpty {
                results.append(CheckResult(what, driver == .vfioPCI ? .fail : .warn,
                                           "IOMMU group \(group) shared with " + offenders.joined(separator: ", ")))
            }
            let direct: Bool
            if let known = directMapped[group] {
                direct = known
            } else {
                direct = try hasDirectRegion(group, context.root)
                directMapped[group] = direct
            }
            if direct {
                results.append(CheckResult(what, .warn, "RMRR (a direct-mapped reserved region): passthrough may fail or be unsafe"))
            }
        }
        return results
    }

    /// Whether a group has an RMRR (a `direct` reserved region).
    private func hasDirectRegion(_ group: Int, _ root: HostRoot) throws(Dom0Error) -> Bool {
        let regions = try root.readText(FilePath("/sys/kernel/iommu_groups/\(group)/reserved_regions")) ?? ""
        return regions.split(separator: "\n").contains { $0.hasSuffix(" direct") }
    }
}
