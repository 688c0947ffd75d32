import Dom0Core
import PCIDevices
import SystemPackage

/// Each hidden device: present, on its target driver, its IOMMU group viable; USB controllers
/// and RMRR-constrained groups warned about.
struct HiddenDevicesCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let rules = try BindRules.load(context.root)
        guard !rules.isEmpty else { return [CheckResult("hidden devices", .pass, "none hidden")] }
        let bus = PCIBus(root: context.root)
        let devices = try bus.all()
        var results: [CheckResult] = []
        for rule in rules {
            let matched = devices.filter(rule.matches)
            if matched.isEmpty {
                if case .slot(let pattern) = rule.match, pattern.slot != nil, pattern.function != nil {
                    results.append(CheckResult("hidden device \(pattern)", .fail, "not present on the bus (\(rule.source))"))
                }
                continue
            }
            for device in matched {
                let what = "hidden device \(device.bdf)"
                guard device.driver == rule.driver else {
                    results.append(CheckResult(what, .fail, "on \(device.driver ?? "no driver"), not \(rule.driver); run pciback-agent once"))
                    continue
                }
                results.append(CheckResult(what, .pass, "on \(rule.driver)"))
                if device.classCode >> 8 == 0x0c03 {
                    results.append(CheckResult(what, .warn, "a USB controller: its ports and what is plugged in go with it"))
                }
                guard let group = device.iommuGroup else { continue }
                let offenders = try bus.groupOffenders(of: device)
                if !offenders.isEmpty {
                    results.append(CheckResult(what, rule.driver == "vfio-pci" ? .fail : .warn,
                                               "IOMMU group \(group) shared with " + offenders.joined(separator: ", ")))
                }
                let regions = try context.root.readText(FilePath("/sys/kernel/iommu_groups/\(group)/reserved_regions")) ?? ""
                if regions.split(separator: "\n").contains(where: { $0.hasSuffix(" direct") }) {
                    results.append(CheckResult(what, .warn, "RMRR (a direct-mapped reserved region): passthrough may fail or be unsafe"))
                }
            }
        }
        return results
    }
}
