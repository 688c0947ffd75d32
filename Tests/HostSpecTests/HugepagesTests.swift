import BootConfig
import Dom0Core
import FakeHost
import Health
import HostSpec
import SystemPackage
import Testing
import TestSupport

/// A native Debian host tree: /etc/default/grub, a kernel in /boot, a CPU, two NUMA nodes of
/// 1 GiB and Dom0Kit's hugepages unit installed.
struct NativeHost {
    let test: TestHost
    var root: HostRoot { test.root }

    init(kernel: String = "6.1.0-41-amd64", flags: String = "fpu pse pdpe1gb sse2", memoryKiB: Int = 2_000_000, nodes: Int = 2) throws {
        test = try TestHost()
        let host = test.host
        try host.write("/etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        try host.write(FilePath("/boot/vmlinuz-\(kernel)"), "")
        try host.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: \(flags)\n")
        try host.write("/proc/meminfo", "MemTotal:       \(memoryKiB) kB\n")
        for node in 0..<nodes {
            try host.write(FilePath("/sys/devices/system/node/node\(node)/meminfo"), "Node \(node) MemTotal:       \(memoryKiB / nodes) kB\n")
        }
        let unit = try #require(try contents(SpecParsingTests.examples.removingLastComponent().removingLastComponent()
            .appending("units/\(Hugepages.unit)")))
        try host.write(FilePath("/usr/local/lib/systemd/system/\(Hugepages.unit)"), unit)
    }

    func plan(_ yaml: String) async throws -> HostPlan {
        try await HostPlanner(root: root).plan(try HostSpec.parse(yaml, file: "host.yaml"))
    }

    func apply(_ yaml: String) async throws -> HostApplyReport {
        try await HostApplier(context: ApplyContext(root: root)).apply(try HostSpec.parse(yaml, file: "host.yaml"), from: "host.yaml")
    }

    var kernelLine: String { get async throws { try await BootEditor(root: root).configured(.dom0).tokens.joined(separator: " ") } }
}

@Suite("Hugepages per NUMA node: the spec, the kernel line, the record, the early unit, health")
struct HugepagesTests {
    static let perNode = "hugepages:\n  size: 2M\n  nodes: {0: 200, 1: 0}\n"

    @Test func theSectionReadsIntoPagesPerNodeOrATotal() throws {
        let spec = try HostSpec.parse(Self.perNode, file: "host.yaml")
        #expect(spec.hugepages == Hugepages(size: .twoMiB, count: .perNode([.init(node: 0, pages: 200), .init(node: 1, pages: 0)])))
        #expect(spec.bootSettings?.settings.hugepages == spec.hugepages, "its kernel arguments are planned with the boot lines")
        let total = try HostSpec.parse("hugepages:\n  size: 1G\n  total: 8\n", file: "host.yaml")
        #expect(total.hugepages == Hugepages(size: .oneGiB, count: .total(8)))
    }

    @Test(arguments: [
        ("hugepages:\n  size: 4M\n  total: 1\n", "hugepages.size", "host.yaml:2"),
        ("hugepages:\n  size: 2M\n  nodes: {zero: 1}\n", "hugepages.nodes.zero", "host.yaml:3"),
        ("hugepages:\n  size: 2M\n  nodes: {0: -1}\n", "hugepages.nodes.0", "host.yaml:3"),
        ("hugepages:\n  size: 2M\n  nodes: {2000: 1}\n", "beyond Linux's 1023", "host.yaml:3"),
        ("hugepages:\n  size: 2M\n  nodes: {0: 1}\n  total: 2\n", "hugepages.total", "host.yaml:4"),
        ("hugepages:\n  size: 2M\n", "missing nodes or total", "host.yaml:2"),
        ("hugepages:\n  size: 2M\n  total: 1\n  node: 1\n", "unknown key \"node\"", "host.yaml:4"),
        // A Xen host's spec: its dom0 runs PV, which has no hugetlbfs.
        ("dom0:\n  weight: 512\nhugepages:\n  size: 2M\n  total: 1\n", "hugepages with Xen's dom0 section", "host.yaml:4"),
        ("boot:\n  hide: [0000:04:00.0]\nhugepages:\n  size: 2M\n  total: 1\n", "hugepages with Xen's boot.hide", "host.yaml:4"),
    ])
    func aBadSectionIsRefusedAtItsKey(text: String, what: String, location: String) throws {
        let error = try specError(text)
        #expect(error.what.contains(what), "\(error)")
        #expect(error.location == location, "\(error)")
    }

    @Test func aKernelThatReadsThePerNodeFormGetsItAndNoUnit() async throws {
        let host = try NativeHost()
        let spec = try HostSpec.parse(Self.perNode, file: "host.yaml")
        let judged = { () async -> [CheckStatus] in
            await HostCheck.run(spec, HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
                .results.filter { ["spec: boot", "spec: hugepages"].contains($0.what) }.map(\.status)
        }
        #expect(await judged() == [.fail, .fail], "host-prepare check judges the section before apply")
        let plan = try await host.plan(Self.perNode)
        #expect(plan.sections.map(\.part) == [.boot, .hugepages])
        #expect(plan.sections.last?.plan.changes.map(\.summary) == ["hugepages (200 2M pages on node 0, 0 on node 1)"])
        let report = try await host.apply(Self.perNode)
        #expect(report.succeeded && report.needsReboot, "\(report.text)")
        #expect(try await host.kernelLine == "quiet hugepagesz=2M hugepages=0:200,1:0")
        #expect(try Hugepages.load(host.root) == HostSpec.parse(Self.perNode, file: "h").hugepages)
        #expect(try await host.apply(Self.perNode).nothingToDo)
        #expect(await judged() == [.pass, .pass])
    }

    @Test func anOlderKernelGetsTheEvenSplitOfTheLargestCountAndTheEarlyUnit() async throws {
        let host = try NativeHost(kernel: "5.10.0-30-amd64")
        let report = try await host.apply(Self.perNode)
        #expect(report.succeeded, "\(report.text)")
        #expect(try await host.kernelLine == "quiet hugepagesz=2M hugepages=400", "200 on each of the 2 nodes at boot")
        #expect(try host.root.exists(FilePath("/etc/systemd/system/sysinit.target.wants/\(Hugepages.unit)")))
        // 1 GiB pages are had only at boot: per node on this kernel is refused.
        let large = try NativeHost(kernel: "5.10.0-30-amd64", memoryKiB: 16_000_000)
        let error = await #expect(throws: Dom0Error.self) { try await large.plan("hugepages:\n  size: 1G\n  nodes: {0: 1, 1: 0}\n") }
        #expect(error?.what.contains("reads no per-node hugepages=") == true, "\(String(describing: error))")
    }

    @Test func theNewestKernelInBootDecides() async throws {
        let host = try NativeHost(kernel: "5.10.0-30-amd64")
        try host.test.host.write("/boot/vmlinuz-6.1.0-41-amd64", "")
        try host.test.host.write("/boot/vmlinuz-5.9.0-1-amd64", "")
        #expect(try HostFacts.bootKernelRelease(host.root) == "6.1.0-41-amd64")
        #expect(Hugepages.kernelReadsPerNodeForm("5.16.0-1-amd64") && !Hugepages.kernelReadsPerNodeForm("5.15.131") && Hugepages.kernelReadsPerNodeForm("10.0"))
        _ = try await host.apply(Self.perNode)
        #expect(try await host.kernelLine == "quiet hugepagesz=2M hugepages=0:200,1:0")
    }

    /// Each refusal names the spec's key and line, with the host's evidence in why.
    @Test(arguments: [
        (NativeHostKind.threeNodesAsked, "hugepages.nodes.2: this host has no NUMA node 2", "host.yaml:3"),
        (.noGigabytePages, "hugepages.size: this CPU offers no 1G pages", "host.yaml:2"),
        (.tooMuch, "hugepages.total: 500 2M pages at boot (1000 MiB) leave the host less than its 1024 MiB", "host.yaml:3"),
        (.moreThanTheNodeHas, "hugepages.nodes.0: node 0 has 976 MiB, less than 500 2M pages", "host.yaml:3"),
        (.xenDom0, "hugepages: hugepages on a Xen dom0", "host.yaml:2"),
        (.anotherPool, "hugepages.size: the kernel line reserves another size of hugepages too", "host.yaml:2"),
    ])
    func whatTheHostCannotHaveIsRefusedBeforeAnythingIsWritten(kind: NativeHostKind, what: String, location: String) async throws {
        let (host, yaml) = try kind.make()
        let before = try await treeSnapshot(host.root)
        let error = await #expect(throws: Dom0Error.self) { try await host.apply(yaml) }
        #expect(error?.what == what, "\(String(describing: error))")
        #expect(error?.location == location, "\(String(describing: error))")
        #expect(try await treeSnapshot(host.root) == before)
    }

    /// Counts at their bounds on a tree that cannot say its nodes: sizes saturate, and the host's
    /// memory refuses them.
    @Test func countsAtTheirBoundsAreRefusedNotOverflowed() async throws {
        let host = try NativeHost(nodes: 0)
        let error = await #expect(throws: Dom0Error.self) {
            try await host.plan("hugepages:\n  size: 1G\n  nodes: {0: 4294967295, 1023: 4294967295}\n")
        }
        #expect(error?.what.contains("leave the host less than its 1024 MiB") == true, "\(String(describing: error))")
    }

    @Test func aXenServerHostIsRefused() async throws {
        let demo = try DemoFixture()
        let before = try await treeSnapshot(demo.root)
        let error = await #expect(throws: Dom0Error.self) {
            try await HostApplier(context: ApplyContext(root: demo.root)).apply(try HostSpec.parse(Self.perNode, file: "h"), from: "h")
        }
        #expect(error?.what == "hugepages: hugepages on a host that boots Xen", "\(String(describing: error))")
        #expect(error?.location == "h:2", "\(String(describing: error))")
        #expect(try await treeSnapshot(demo.root) == before)
    }

    @Test func healthJudgesEachNodeAgainstTheRecord() async throws {
        let host = try NativeHost()
        _ = try await host.apply(Self.perNode)
        let node = { (n: Int, pages: Int) throws in
            try host.test.host.write(FilePath("/sys/devices/system/node/node\(n)/hugepages/hugepages-2048kB/nr_hugepages"), "\(pages)\n")
        }
        try node(0, 200); try node(1, 0)
        var report = await HealthChecks.run(HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(report.results.filter { $0.what.hasPrefix("hugepages") }.map(\.status) == [.pass, .pass], "\(report.text)")
        try node(0, 150); try node(1, 200)
        report = await HealthChecks.run(HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
        let hint = { (what: String) in report.results.first { $0.what == what }?.hint ?? "" }
        let status = { (what: String) in report.results.first { $0.what == what }?.status }
        #expect(status("hugepages node 0") == .fail)
        #expect(hint("hugepages node 0").hasPrefix("150 of 200 2M pages, 50 short (100 MiB): memory was in use or fragmented"))
        #expect(status("hugepages node 1") == .warn)
        #expect(hint("hugepages node 1").contains("200 more than asked (400 MiB held from the host)"))

        // A count no kernel holds (a hostile tree) is told, never a trap.
        try host.test.host.write("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "18446744073709551615\n")
        report = await HealthChecks.run(HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(report.results.first { $0.what == "hugepages node 1" }?.status == .warn)

        // The early unit's command writes each node's count.
        let states = try HugepagesSetter(root: host.root).apply(try #require(try Hugepages.load(host.root)))
        #expect(states.map(\.reserved) == [200, 0])

        try host.test.host.makeXenDom0()
        report = await HealthChecks.run(HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(report.results.first { $0.what == "hugepages" }?.status == .fail, "a Xen dom0 has no hugetlbfs")
    }

    @Test func theRecordRefusesBadLinesNamingThem() {
        for (text, line) in [("Size=2M\nNodes=0:1,0:2\n", 2), ("Size=3M\nTotal=1\n", 1), ("Size=2M\nTotal=x\n", 2), ("Size=2M\nPages=1\n", 2)] {
            let error = #expect(throws: Dom0Error.self) { try Hugepages.parse(text, file: "hugepages.conf") }
            #expect(error?.location == "hugepages.conf:\(line)", "\(text): \(String(describing: error))")
        }
        let pages = Hugepages(size: .twoMiB, count: .perNode([.init(node: 0, pages: 6200), .init(node: 1, pages: 0)]))
        #expect((try? Hugepages.parse(pages.fileText, file: "f")) == pages)
    }
}

enum NativeHostKind: CaseIterable, Sendable, CustomTestStringConvertible {
    case threeNodesAsked, noGigabytePages, tooMuch, moreThanTheNodeHas, xenDom0, anotherPool

    var testDescription: String { "\(self)" }

    func make() throws -> (NativeHost, String) {
        switch self {
        case .threeNodesAsked: return (try NativeHost(), "hugepages:\n  size: 2M\n  nodes: {0: 1, 2: 1}\n")
        case .noGigabytePages: return (try NativeHost(flags: "fpu pse"), "hugepages:\n  size: 1G\n  total: 1\n")
        case .tooMuch: return (try NativeHost(), "hugepages:\n  size: 2M\n  total: 500\n")
        case .moreThanTheNodeHas: return (try NativeHost(memoryKiB: 8_000_000, nodes: 8), "hugepages:\n  size: 2M\n  nodes: {0: 500}\n")
        case .xenDom0:
            let host = try NativeHost()
            try host.test.host.makeXenDom0()
            return (host, "hugepages:\n  size: 2M\n  total: 1\n")
        case .anotherPool:
            let host = try NativeHost()
            try host.test.host.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet hugepagesz=1G hugepages=2\"\n")
            return (host, "hugepages:\n  size: 2M\n  total: 1\n")
        }
    }
}
