import Dom0Core
import PCIDevices
import SystemPackage

/// Configured boot arguments against the running ones: whether a reboot is needed, and why.
public struct BootStatus: Sendable, TextReport {
    /// One line's comparison.
    public struct Line: Sendable, Encodable {
        /// Xen's or dom0's.
        public var line: BootLine
        /// The configured tokens.
        public var configured: [String]
        /// The running tokens, or nil when they cannot be read here.
        public var running: [String]?
        /// Where the running tokens came from (or why they could not be read).
        public var source: String
        /// Configured but not running: applied at the next boot.
        public var pending: [String]
        /// Running but no longer configured: gone at the next boot.
        public var stale: [String]
    }

    /// Both lines.
    public var lines: [Line]
    /// Whether a reboot is needed; nil when a line's running arguments could not be read.
    public var rebootNeeded: Bool?
    /// Each device hidden in the configured or the running hide list, with dom0's access to it
    /// as XAPI computes it; empty when the running list cannot be read here.
    public var devices: [DeviceAccess]
    /// Entries of either hide list XAPI cannot read (it reads only `(DDDD:BB:DD.F)`, and fails
    /// for every device when one entry is otherwise); the next hide edit writes them in full.
    public var xapiCannotRead: [String]

    /// Keys whose running tokens count as stale when no longer configured, whatever else runs.
    static let managedKeys: Set<String> = [BootKnob.hide, BootKnob.dom0Memory, BootKnob.iommu, BootKnob.vfioIDs,
                                           "intel_iommu", "amd_iommu"]

    /// Compares the configuration the editor reads with `/proc/cmdline` and Xen's running command
    /// line: from `xen` when the caller has asked Xen already, else from `xl info` on this machine.
    public static func read(_ editor: BootEditor, xen: XenFacts? = nil) async throws(Dom0Error) -> BootStatus {
        var facts = xen
        if facts == nil { facts = await XenFacts.read(editor.root, runner: editor.runner) }
        var lines: [Line] = []
        for line in BootLine.allCases {
            let configured = try await editor.configured(line).tokens
            let (running, source) = try runningArguments(line, editor, xen: facts ?? XenFacts(info: nil, dmesg: nil))
            let runningTokens = running?.tokens.filter { !$0.hasPrefix("BOOT_IMAGE=") }
            let keys = Set(configured.map(BootArguments.key(of:))).union(managedKeys)
            lines.append(Line(
                line: line, configured: configured, running: runningTokens, source: source,
                pending: runningTokens.map { running in configured.filter { !running.contains($0) } } ?? [],
                stale: runningTokens?.filter { keys.contains(BootArguments.key(of: $0)) && !configured.contains($0) } ?? []))
        }
        let known = lines.allSatisfy { $0.running != nil }
        let differs = lines.contains { !$0.pending.isEmpty || !$0.stale.isEmpty }
        let dom0 = lines.first { $0.line == .dom0 }
        let configuredHide = dom0.flatMap { BootArguments($0.configured).value(of: HideList.key) }
        let runningHide = dom0?.running.flatMap { BootArguments($0).value(of: HideList.key) }
        var unreadable: [String] = []
        for value in [configuredHide, runningHide].compactMap({ $0 }) {
            for entry in HideList.entriesXAPICannotRead(value) where !unreadable.contains(entry) { unreadable.append(entry) }
        }
        return BootStatus(lines: lines, rebootNeeded: differs ? true : (known ? false : nil),
                          // Without the running line, no state is known: none is guessed.
                          devices: dom0?.running == nil ? [] : DeviceAccess.of(configured: configuredHide, running: runningHide),
                          xapiCannotRead: unreadable)
    }

    /// dom0's running arguments (`/proc/cmdline`), or nil when they cannot be read.
    static func runningDom0(_ editor: BootEditor) throws(Dom0Error) -> BootArguments? {
        try runningArguments(.dom0, editor, xen: XenFacts(info: nil, dmesg: nil)).0
    }

    private static func runningArguments(_ line: BootLine, _ editor: BootEditor, xen: XenFacts) throws(Dom0Error)
        -> (BootArguments?, String) {
        switch line {
        case .dom0:
            guard let bytes = try editor.root.read("/proc/cmdline") else { return (nil, "no /proc/cmdline under the root") }
            // Junk is "cannot tell", never a running line whose every argument differs (a reboot
            // that would change nothing).
            guard let text = String(validating: bytes, as: UTF8.self)?.trimmingTrailingWhitespace,
                  !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\t" }) else {
                return (nil, "cannot read the running command line: /proc/cmdline holds bytes that are not one (invalid UTF-8 or control characters)")
            }
            return (BootArguments(parsing: text), "/proc/cmdline")
        case .xen:
            guard xen.info != nil else { return (nil, xen.unavailable ?? "xl info gave nothing") }
            guard let running = xen.infoField("xen_commandline") else { return (nil, "xl info has no xen_commandline") }
            return (BootArguments(parsing: running), "xl info")
        }
    }
}

/// Facts about the host the knobs need.
public enum HostFacts {
    /// The CPU vendor from /proc/cpuinfo: "GenuineIntel", "AuthenticAMD", or nil.
    public static func cpuVendor(_ root: HostRoot) throws(Dom0Error) -> String? {
        try root.readText("/proc/cpuinfo")?.split(separator: "\n")
            .first { $0.hasPrefix("vendor_id") }
            .flatMap { $0.split(separator: ":").last.map { String($0.drop { $0 == " " || $0 == "\t" }) } }
    }

    /// Whether the root is a Xen dom0: /proc/xen/capabilities says control_d, or the hypervisor's
    /// features have XENFEAT_dom0.
    public static func isXenDom0(_ root: HostRoot) throws(Dom0Error) -> Bool {
        if try root.readText("/proc/xen/capabilities")?.contains("control_d") == true { return true }
        guard let features = try root.readText("/sys/hypervisor/properties/features").flatMap({ UInt32($0.trimmingWhitespace, radix: 16) })
        else { return false }
        return features & (1 << 11) != 0  // XENFEAT_dom0
    }

    /// The host's NUMA nodes (/sys/devices/system/node/nodeN); nil when sysfs does not say.
    public static func numaNodes(_ root: HostRoot) throws(Dom0Error) -> [UInt32]? {
        let directory: FilePath = "/sys/devices/system/node"
        guard let names = try root.entries(directory) else { return nil }
        let nodes = names.compactMap { name in
            name.hasPrefix("node") ? UInt32.parseDigits(name.dropFirst(4)) : nil
        }
        return nodes.isEmpty ? nil : nodes.sorted()
    }

    /// A NUMA node's memory in bytes, from its meminfo ("Node 0 MemTotal:  1012345 kB").
    public static func nodeMemory(_ root: HostRoot, node: UInt32) throws(Dom0Error) -> UInt64? {
        let row = try root.readText(FilePath("/sys/devices/system/node/node\(node)/meminfo"))?
            .split(separator: "\n").first { $0.contains("MemTotal:") }
        let words = row?.split(separator: " ") ?? []
        return words.firstIndex(of: "MemTotal:").flatMap { $0 + 1 < words.count ? UInt64.parseDigits(words[$0 + 1]) : nil }.map { $0 << 10 }
    }

    /// The release of the kernel the host boots: the newest /boot/vmlinuz-<release>, as Debian's
    /// GRUB orders them; on the running system without one, the running kernel's.
    public static func bootKernelRelease(_ root: HostRoot) throws(Dom0Error) -> String? {
        let releases = (try root.entries("/boot") ?? []).filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
        if let newest = releases.max(by: { kernelVersion($0).lexicographicallyPrecedes(kernelVersion($1)) }) { return newest }
        return root.isSystem ? try root.readText("/proc/sys/kernel/osrelease")?.trimmingWhitespace : nil
    }

    /// A release's leading numbers: "6.1.0-41-amd64" → [6, 1, 0].
    public static func kernelVersion(_ release: String) -> [Int] {
        release.prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int.parseDigits($0) }
    }

    /// The first CPU's feature flags in /proc/cpuinfo (a Xen PV dom0 sees vmx and svm masked).
    public static func cpuFlags(_ root: HostRoot) throws(Dom0Error) -> Set<String>? {
        try root.readText("/proc/cpuinfo")?.split(separator: "\n")
            .first { $0.hasPrefix("flags") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last.map { Set($0.split(separator: " ").map(String.init)) } }
    }

    /// The host's memory in bytes: `xl info` total_memory on this machine's Xen, else MemTotal of /proc/meminfo.
    public static func memory(_ root: HostRoot, runner: CommandRunner) async throws(Dom0Error) -> UInt64? {
        if let mebibytes = await XenFacts.read(root, runner: runner).infoField("total_memory").flatMap({ UInt64($0) }) {
            return mebibytes << 20
        }
        let row = try root.readText("/proc/meminfo")?.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        return row.flatMap { UInt64($0.dropFirst("MemTotal:".count).trimmingWhitespace.split(separator: " ").first ?? "") }
            .map { $0 << 10 }
    }
}

extension BootStatus {
    /// The comparison for people: each line's pending and stale arguments, dom0's access to each
    /// hidden device, and whether a reboot is needed.
    public var text: String {
        var text = ""
        for line in lines {
            text += "\(line.line.rawValue): configured \(line.configured.joined(separator: " "))\n"
            guard line.running != nil else {
                text += "  running: cannot tell (\(line.source))\n"
                continue
            }
            for token in line.pending { text += "  at next boot: + \(token)\n" }
            for token in line.stale { text += "  at next boot: - \(token)\n" }
        }
        if !devices.isEmpty { text += "dom0 access (as XAPI computes it):\n" }
        for device in devices { text += "  \(device.device): \(device.dom0Access.rawValue)\n" }
        for entry in xapiCannotRead {
            text += "warning: XAPI cannot read the xen-pciback.hide entry \(entry): it reads only (DDDD:BB:DD.F) entries, "
                + "and fails for every device when one is otherwise; the next hide edit writes the list in full\n"
        }
        switch rebootNeeded {
        case true?: text += "reboot needed\n"
        case false?: text += "up to date: the running arguments match\n"
        case nil: text += "no difference found, but not every line could be read\n"
        }
        return text
    }
}
