import Dom0Core
import SystemPackage

/// Configured boot arguments against the running ones: whether a reboot is needed, and why.
public struct BootStatus: Sendable, Encodable {
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

    /// Keys whose running tokens count as stale when no longer configured, whatever else runs.
    static let managedKeys: Set<String> = [BootKnob.hide, BootKnob.dom0Memory, BootKnob.iommu, BootKnob.vfioIDs,
                                           "intel_iommu", "amd_iommu"]

    /// Compares the configuration the editor reads with `/proc/cmdline` and Xen's running command
    /// line: from `xlInfo` (`xl info` output the caller already has), else `xl info` on this machine.
    public static func read(_ editor: BootEditor, xlInfo: String? = nil) async throws(Dom0Error) -> BootStatus {
        var lines: [Line] = []
        for line in BootLine.allCases {
            let configured = try await editor.configured(line).tokens
            let (running, source) = try await runningArguments(line, editor, xlInfo: xlInfo)
            let runningTokens = running?.tokens.filter { !$0.hasPrefix("BOOT_IMAGE=") }
            let keys = Set(configured.map(BootArguments.key(of:))).union(managedKeys)
            lines.append(Line(
                line: line, configured: configured, running: runningTokens, source: source,
                pending: runningTokens.map { running in configured.filter { !running.contains($0) } } ?? [],
                stale: runningTokens?.filter { keys.contains(BootArguments.key(of: $0)) && !configured.contains($0) } ?? []))
        }
        let known = lines.allSatisfy { $0.running != nil }
        let differs = lines.contains { !$0.pending.isEmpty || !$0.stale.isEmpty }
        return BootStatus(lines: lines, rebootNeeded: differs ? true : (known ? false : nil))
    }

    private static func runningArguments(_ line: BootLine, _ editor: BootEditor, xlInfo: String?) async throws(Dom0Error)
        -> (BootArguments?, String) {
        switch line {
        case .dom0:
            guard let text = try editor.root.readText("/proc/cmdline") else { return (nil, "no /proc/cmdline under the root") }
            return (BootArguments(parsing: text.trimmingTrailingWhitespace), "/proc/cmdline")
        case .xen:
            var info = xlInfo
            if info == nil {
                guard editor.root.isSystem else { return (nil, "cannot ask the Xen of a host under --root") }
                guard CommandRunner.locate("xl") != nil else { return (nil, "xl is not installed (not a Xen dom0?)") }
                let result = try await editor.runner.run(["xl", "info"], effect: .readOnly, timeout: .seconds(20))
                guard result.succeeded else { return (nil, "xl info failed: \(result.stderr.trimmingTrailingWhitespace)") }
                info = result.stdout
            }
            for row in (info ?? "").split(separator: "\n") {
                let parts = row.split(separator: ":", maxSplits: 1)
                if parts.count == 2, String(parts[0]).trimmingTrailingWhitespace == "xen_commandline" {
                    return (BootArguments(parsing: parts[1].drop { $0 == " " }), "xl info")
                }
            }
            return (nil, "xl info has no xen_commandline")
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

    /// The host's memory in bytes: `xl info` total_memory on this machine's Xen, else MemTotal of /proc/meminfo.
    public static func memory(_ root: HostRoot, runner: CommandRunner) async throws(Dom0Error) -> UInt64? {
        if root.isSystem, CommandRunner.locate("xl") != nil,
           let info = try? await runner.run(["xl", "info"], effect: .readOnly, timeout: .seconds(20)), info.succeeded,
           let row = info.stdout.split(separator: "\n").first(where: { $0.hasPrefix("total_memory") }),
           let mebibytes = row.split(separator: ":").last.flatMap({ UInt64($0.trimmingWhitespace) }) {
            return mebibytes << 20
        }
        let row = try root.readText("/proc/meminfo")?.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        return row.flatMap { UInt64($0.dropFirst("MemTotal:".count).trimmingWhitespace.split(separator: " ").first ?? "") }
            .map { $0 << 10 }
    }
}
