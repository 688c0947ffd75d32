import BootConfig
import Dom0Core

/// dom0's memory: dom0_mem set (else dom0 starts with all memory and balloons down), fixed or
/// ballooning, its amount against XCP-ng's guidance for the host's RAM, and xl's autoballoon
/// against a fixed dom0_mem, which Xen's documentation says to turn off.
struct Dom0MemoryCheck: HealthCheck {
    let subject = "dom0 memory"

    /// XCP-ng's guidance: at least 2 GiB; 4 GiB for hosts up to 64 GiB of RAM, 8 GiB from 128 GiB.
    static func guidance(hostMiB: UInt64) -> UInt64 { hostMiB >= 128 << 10 ? 8 << 10 : 4 << 10 }
    static let least: UInt64 = 2 << 10

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = "dom0_mem"
        guard try context.isXenDom0 else { return [] }
        let xen: BootArguments
        do { xen = try await BootEditor(root: context.root).configured(.xen) } catch { return [.cannotTell(what, error.what)] }
        guard let value = xen.value(of: BootKnob.dom0Memory) else {
            return [CheckResult(what, .warn, "not set: dom0 starts with all memory and balloons down")]
        }
        guard let memory = try? Dom0Memory(parsing: value), let amount = memory.amount ?? memory.maximum else {
            return [CheckResult(what, .fail, "\(value) is not a dom0_mem Xen reads; set it with host-prepare boot dom0-mem")]
        }
        let fixed = memory.maximum.map { $0 == amount } ?? false
        var results = [CheckResult(what, .pass, value + (fixed ? " (fixed)" : " (ballooning up to \(memory.maximum?.text ?? "all memory"))"))]
        results.append(size(amount.bytes >> 20, context.xen))
        if fixed, let autoballoon = try Self.autoballoon(context.root) {
            results.append(autoballoon)
        }
        return results
    }

    private func size(_ mebibytes: UInt64, _ facts: XenFacts) -> CheckResult {
        let what = "dom0 memory size"
        guard let host = facts.infoField("total_memory").flatMap({ UInt64($0) }) else {
            return .cannotTell(what, facts.unavailable ?? "xl info has no total_memory")
        }
        let advised = max(Self.guidance(hostMiB: host), Self.least)
        let shown = "\(mebibytes) MiB of the host's \(host) MiB"
        return mebibytes >= advised ? CheckResult(what, .pass, shown)
            : CheckResult(what, .warn, "\(shown): XCP-ng advises \(advised >> 10) GiB (at least 2 GiB; 4 up to 64 GiB of RAM, "
                          + "8 from 128 GiB); host-prepare boot dom0-mem \(advised)M --max \(advised)M")
    }

    /// xl's autoballoon setting when it is on, which a fixed dom0_mem wants off; nil when it is
    /// off or "auto" (xl's default, off when Xen's line has dom0_mem).
    static func autoballoon(_ root: HostRoot) throws(Dom0Error) -> CheckResult? {
        guard let text = try root.readText("/etc/xen/xl.conf") else { return nil }
        var setting: String?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let parts = words.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingWhitespace == "autoballoon" else { continue }
            setting = String(parts[1].trimmingWhitespace.filter { $0 != "\"" && $0 != "'" })
        }
        guard let setting, ["1", "on"].contains(setting) else { return nil }
        return CheckResult("xl autoballoon", .warn, "autoballoon=\(setting) in /etc/xen/xl.conf with a fixed dom0_mem: "
                           + "Xen advises autoballoon=0 (or \"auto\"), so xl never shrinks dom0 to start guests")
    }
}
