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
    /// `xl vcpu-list 0`, `xl list -n 0` and `xl sched-credit[2] -d 0`: Domain-0's CPUs as Xen runs them.
    public var vcpuList: String?
    public var domainList: String?
    public var schedTable: String?

    public init(info: String?, dmesg: String?, unavailable: String? = nil,
                vcpuList: String? = nil, domainList: String? = nil, schedTable: String? = nil) {
        self.info = info
        self.dmesg = dmesg
        self.unavailable = unavailable ?? (info == nil ? "xl info gave nothing" : nil)
        self.vcpuList = vcpuList
        self.domainList = domainList
        self.schedTable = schedTable
    }

    /// Asks `xl` on this machine; under another root, or without xl, Xen cannot be asked.
    public static func read(_ root: HostRoot, runner: CommandRunner) async -> XenFacts {
        guard root.isSystem else { return XenFacts(info: nil, dmesg: nil, unavailable: "cannot ask the Xen of a host under --root") }
        guard CommandRunner.locate("xl") != nil else {
            return XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed; install Xen's tools (xen-utils) so Xen can be asked")
        }
        func xl(_ arguments: String...) async -> CommandResult? {
            try? await runner.run(["xl"] + arguments, effect: .readOnly, timeout: .seconds(20))
        }
        let info = await xl("info")
        guard let info, info.succeeded else {
            return XenFacts(info: nil, dmesg: nil, unavailable: "xl info failed: \(info?.stderr.trimmingTrailingWhitespace ?? "")")
        }
        var facts = XenFacts(info: info.stdout, dmesg: nil)
        func output(_ result: CommandResult?) -> String? { result?.succeeded == true ? result?.stdout : nil }
        facts.dmesg = output(await xl("dmesg"))
        facts.vcpuList = output(await xl("vcpu-list", "0"))
        facts.domainList = output(await xl("list", "-n", "0"))
        if let scheduler = try? WeightedScheduler.running(facts) {
            facts.schedTable = output(await xl(scheduler.command, "-d", "0"))
        }
        return facts
    }

    /// A field of `xl info` ("virt_caps", "xen_commandline").
    public func infoField(_ name: String) -> String? {
        info?.split(separator: "\n").first { $0.split(separator: ":").first?.trimmingWhitespace == name }
            .flatMap { line in line.firstIndex(of: ":").map { line[line.index(after: $0)...].trimmingWhitespace } }
    }
}

/// The columns of a line of one of xl's tables, which it pads with blanks and tabs.
func xlColumns(_ line: Substring) -> [Substring] {
    line.split { $0 == " " || $0 == "\t" }
}

/// One of Domain-0's vCPUs as `xl vcpu-list 0` shows it.
public struct XenVCPU: Sendable, Equatable {
    public var number: Int
    /// The CPU it runs on; nil while offline.
    public var cpu: Int?
    /// Hard and soft affinity, as xl writes CPU sets ("all", "2", "0-3,6").
    public var hardAffinity: String
    public var softAffinity: String
}

extension XenFacts {
    /// Domain-0's vCPUs; nil when xl was not asked or its table cannot be read.
    public var dom0VCPUs: [XenVCPU]? {
        guard let vcpuList else { return nil }
        var vcpus: [XenVCPU] = []
        // "Domain-0  0  1  3  -b-  2.1  3 / all": read from the right, where the columns are fixed.
        for line in vcpuList.split(separator: "\n").dropFirst() {
            let words = xlColumns(line)
            guard words.count >= 9, words[words.count - 2] == "/", let number = Int(words[words.count - 7]) else { return nil }
            vcpus.append(XenVCPU(number: number, cpu: Int(words[words.count - 6]),
                                 hardAffinity: String(words[words.count - 3]), softAffinity: String(words[words.count - 1])))
        }
        return vcpus.isEmpty ? nil : vcpus
    }

    /// Domain-0's NUMA node affinity from `xl list -n 0` ("all", "1", "0-1").
    public var dom0NodeAffinity: String? {
        guard let domainList, let header = domainList.split(separator: "\n").first, header.contains("NODE") else { return nil }
        return domainList.split(separator: "\n").dropFirst().first.flatMap { xlColumns($0).last }.map(String.init)
    }

    /// Domain-0's weight and cap in the running scheduler.
    public var dom0Sched: SchedParameters? { schedTable.flatMap { SchedParameters(xlTable: $0) } }
}
