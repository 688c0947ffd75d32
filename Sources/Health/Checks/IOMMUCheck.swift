import Dom0Core
import SystemPackage

/// An IOMMU for passthrough. Under Xen, dom0 sees none in sysfs (Xen owns it): Xen is asked,
/// through `xl info`'s virt_caps and `xl dmesg`. Natively: /sys/class/iommu and IOMMU groups,
/// with the firmware's DMAR or IVRS table telling "present but off" from "absent".
struct IOMMUCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = "IOMMU"
        if try context.isXenDom0 {
            if let dmesg = context.xen.dmesg {
                if dmesg.contains("I/O virtualisation enabled") { return [CheckResult(what, .pass, "Xen: I/O virtualisation enabled")] }
                if dmesg.contains("I/O virtualisation disabled") {
                    return [CheckResult(what, .fail, "Xen: I/O virtualisation disabled; enable VT-d/AMD-Vi in firmware, check iommu=")]
                }
            }
            if let caps = context.xen.infoField("virt_caps") {
                return caps.contains("hvm_directio")
                    ? [CheckResult(what, .pass, "Xen: virt_caps has hvm_directio")]
                    : [CheckResult(what, .fail, "Xen: virt_caps lacks hvm_directio (\(caps))")]
            }
            return [.cannotTell(what, "under Xen only Xen can say: \(context.xen.unavailable ?? "xl's answer says nothing of it")")]
        }
        let groups = try entries(context.root, "/sys/kernel/iommu_groups")
        let units = try entries(context.root, "/sys/class/iommu")
        if !groups.isEmpty || !units.isEmpty { return [CheckResult(what, .pass, "\(groups.count) IOMMU groups")] }
        for table in ["DMAR", "IVRS"] where try context.root.exists(FilePath("/sys/firmware/acpi/tables/\(table)")) {
            return [CheckResult(what, .fail, "the firmware has \(table) but Linux did not enable it; add \(table == "DMAR" ? "intel_iommu=on" : "amd_iommu=on")")]
        }
        return [CheckResult(what, .fail, "no IOMMU: no groups, no DMAR or IVRS table")]
    }
}

/// The names in a host directory, none when it is missing.
func entries(_ root: HostRoot, _ path: FilePath) throws(Dom0Error) -> [String] {
    guard try root.exists(path) else { return [] }
    return try FileSystem.entries(root.resolve(path))
}
