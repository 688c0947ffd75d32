import Dom0Core

/// What Xen itself says (`xl info`, `xl dmesg`), which dom0 cannot see in sysfs: its running
/// command line, the host's memory, whether it enabled the IOMMU. Read once and passed around.
public struct XenFacts: Sendable {
    /// `xl info` output.
    public var info: String?
    /// `xl dmesg` output.
    public var dmesg: String?
    /// Why `info` is missing, when it is.
    public var unavailable: String?

    public init(info: String?, dmesg: String?, unavailable: String? = nil) {
        self.info = info
        self.dmesg = dmesg
        self.unavailable = unavailable ?? (info == nil ? "xl info gave nothing" : nil)
    }

    /// Asks `xl` on this machine; under another root, or without xl, Xen cannot be asked.
    public static func read(_ root: HostRoot, runner: CommandRunner) async -> XenFacts {
        guard root.isSystem else { return XenFacts(info: nil, dmesg: nil, unavailable: "cannot ask the Xen of a host under --root") }
        guard CommandRunner.locate("xl") != nil else {
            return XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed; install Xen's tools (xen-utils) so Xen can be asked")
        }
        let info = try? await runner.run(["xl", "info"], effect: .readOnly, timeout: .seconds(20))
        let dmesg = try? await runner.run(["xl", "dmesg"], effect: .readOnly, timeout: .seconds(20))
        return XenFacts(info: info?.succeeded == true ? info?.stdout : nil, dmesg: dmesg?.succeeded == true ? dmesg?.stdout : nil,
                        unavailable: info?.succeeded == true ? nil : "xl info failed: \(info?.stderr.trimmingTrailingWhitespace ?? "")")
    }

    /// A field of `xl info` ("virt_caps", "xen_commandline").
    public func infoField(_ name: String) -> String? {
        info?.split(separator: "\n").first { $0.split(separator: ":").first?.trimmingWhitespace == name }
            .flatMap { line in line.firstIndex(of: ":").map { line[line.index(after: $0)...].trimmingWhitespace } }
    }
}
