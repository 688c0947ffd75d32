import BootConfig
import Dom0Core
import SystemPackage

/// An IOMMU for passthrough, in two lines as virt-host-validate has them: the firmware describes
/// one (the ACPI DMAR or IVRS table) and it is enabled. Under Xen, dom0 sees no IOMMU in sysfs
/// (Xen owns it, and reverses DMAR's signature to RMAD so that dom0 leaves it alone): Xen is
/// asked, through `xl dmesg` and `xl info`'s virt_caps. Natively: /sys/class/iommu and IOMMU
/// groups, with the argument this host's vendor needs when the firmware has one the kernel left off.
struct IOMMUCheck: HealthCheck {
    let subject = "IOMMU"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let xen = try context.isXenDom0
        let table = try Self.firmwareTable(context.root, xen: xen)
        let firmware = table.map { CheckResult("IOMMU in firmware", .pass, "ACPI \($0.name) (\($0.vendor))") }
            ?? CheckResult("IOMMU in firmware", .fail, "no ACPI DMAR or IVRS table: turn VT-d or AMD-Vi on in the firmware, if the platform has one")
        return [firmware, xen ? enabledByXen(context.xen) : try enabledByLinux(context.root, table: table)]
    }

    struct FirmwareTable { var name: String, vendor: String }

    static func firmwareTable(_ root: HostRoot, xen: Bool) throws(Dom0Error) -> FirmwareTable? {
        let tables = [("DMAR", "Intel VT-d"), ("IVRS", "AMD-Vi")] + (xen ? [("RMAD", "Intel VT-d, DMAR kept by Xen")] : [])
        for (name, vendor) in tables where try root.exists(FilePath("/sys/firmware/acpi/tables/\(name)")) {
            return FirmwareTable(name: name, vendor: vendor)
        }
        return nil
    }

    private func enabledByXen(_ facts: XenFacts) -> CheckResult {
        let what = subject
        if let dmesg = facts.dmesg {
            if dmesg.contains("I/O virtualisation enabled") { return CheckResult(what, .pass, "Xen: I/O virtualisation enabled") }
            if dmesg.contains("I/O virtualisation disabled") {
                return CheckResult(what, .fail, "Xen: I/O virtualisation disabled; enable VT-d/AMD-Vi in firmware, check iommu=")
            }
        }
        if let caps = facts.infoField("virt_caps") {
            return caps.contains("hvm_directio") ? CheckResult(what, .pass, "Xen: virt_caps has hvm_directio")
                : CheckResult(what, .fail, "Xen: virt_caps lacks hvm_directio (\(caps))")
        }
        return .cannotTell(what, "under Xen only Xen can say: \(facts.unavailable ?? "xl's answer says nothing of it")")
    }

    private func enabledByLinux(_ root: HostRoot, table: FirmwareTable?) throws(Dom0Error) -> CheckResult {
        let what = subject
        let groups = try root.entries("/sys/kernel/iommu_groups") ?? []
        let units = try root.entries("/sys/class/iommu") ?? []
        if !groups.isEmpty || !units.isEmpty { return CheckResult(what, .pass, "\(groups.count) IOMMU groups") }
        guard let table else { return CheckResult(what, .fail, "no IOMMU: no groups, no DMAR or IVRS table") }
        let running = BootArguments(parsing: try root.readText("/proc/cmdline") ?? "")
        for (key, value) in [("intel_iommu", "off"), ("amd_iommu", "off"), ("iommu", "off")] where running.value(of: key) == value {
            return CheckResult(what, .fail, "the firmware has \(table.name) but the kernel runs with \(key)=\(value): remove it")
        }
        return table.name == "DMAR"
            ? CheckResult(what, .fail, "the firmware has DMAR but Linux did not enable it; add intel_iommu=on (host-prepare boot iommu --native)")
            : CheckResult(what, .fail, "the firmware has IVRS but Linux enabled no AMD-Vi, which is on by default: its boot log says why")
    }
}
