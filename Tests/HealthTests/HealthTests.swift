import BootConfig
import ControlSlice
import Dom0Core
import Dom0KitDemo
import FakeHost
import Health
import PCIDevices
import SystemPackage
import Testing
import TestSupport

/// Captured from XCP-ng 8.3 hosts: what xl says with and without an IOMMU.
enum XenOutputs {
    static let infoWithIOMMU = """
        host                   : xcp-ng-83
        release                : 4.19.0+1
        xen_version            : 4.17.5
        virt_caps              : pv hvm hvm_directio pv_directio hap shadow
        total_memory           : 65413
        xen_commandline        : dom0_mem=2048M,max:2048M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G console=vga vga=mode-0x0311

        """
    static let infoWithoutIOMMU = infoWithIOMMU.replacing("pv hvm hvm_directio pv_directio hap shadow", with: "pv hvm hap shadow")
    /// Xen's VT-d words (xen/drivers/passthrough/vtd/iommu.c): "Intel VT-d <feature> [not ]enabled."
    static let dmesgWithIOMMU = """
        (XEN) Intel VT-d iommu 0 supported page sizes: 4kB, 2MB, 1GB
        (XEN) Intel VT-d Queued Invalidation enabled.
        (XEN) Intel VT-d Interrupt Remapping enabled.
        (XEN) I/O virtualisation enabled

        """
    static let dmesgWithoutRemapping = dmesgWithIOMMU.replacing("Interrupt Remapping enabled", with: "Interrupt Remapping not enabled")
    static let dmesgWithoutIOMMU = "(XEN) I/O virtualisation disabled\n"
}

/// The demo host with its disk laid out and its grub.cfg edited, as a health fixture.
struct HealthHost {
    let directory: TemporaryDirectory
    let demo: DemoHost
    var root: HostRoot { demo.host.root }

    init() throws {
        directory = try TemporaryDirectory("dom0kit-health")
        demo = try DemoHost.build(at: directory.appending("root"))
    }

    func check(_ xen: XenFacts = XenFacts(info: XenOutputs.infoWithIOMMU, dmesg: XenOutputs.dmesgWithIOMMU)) async -> HealthReport {
        await HealthChecks.run(HealthContext(root: root, xen: xen))
    }
}

extension HealthReport {
    func status(of what: String) -> CheckStatus? { results.first { $0.what == what }?.status }
    func statuses(of what: String) -> [CheckStatus] { results.filter { $0.what == what }.map(\.status) }
}

@Suite("Health checks on fixture hosts")
struct HealthTests {
    /// A slice applied from a spec (no /etc/dom0kit/control-slice.conf): health reports the weight
    /// and members that were applied, not the defaults (found on the first real first boot).
    @Test func theSliceIsJudgedAsAppliedNotAsTheDefaults() async throws {
        let host = try HealthHost()
        try host.demo.host.write("/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n")
        var config = SliceConfig()
        config.cpuWeight = 500
        config.members = ["xapi.service"]
        let report = await (try SlicePlanner(root: host.root).planApply(config)).plan.apply(ApplyContext(root: host.root))
        #expect(report.succeeded, "\(report.text)")
        try host.demo.host.write("/sys/fs/cgroup/control.slice/cpu.weight", "500\n")
        try host.demo.host.write("/proc/4242/cgroup", "0::/system.slice/sshd.service\n")
        let health = await host.check()
        let slice = try #require(health.results.first { $0.what == "control.slice" })
        #expect(slice.hint == "configured weight 500, live 500")
        #expect(health.status(of: "control.slice members") == nil, "sshd is no member of this slice: \(health.text)")
    }

    @Test func aXenDom0WithAnIOMMUPasses() async throws {
        let host = try HealthHost()
        try host.demo.host.setKernelCommandLine(DemoHost.dom0CommandLine)
        let report = await host.check()
        #expect(report.status(of: "running as Xen dom0") == .pass)
        #expect(report.status(of: "IOMMU") == .pass)
        #expect(report.status(of: "interrupt remapping") == .pass)
        #expect(report.status(of: "dom0_mem") == .pass)
        #expect(report.status(of: "boot command line") == .pass)
        #expect(report.text.contains("  Dom0Kit: Checking IOMMU "))
        #expect(report.text.contains(": PASS (Xen: I/O virtualisation enabled)\n"))
    }

    /// Domain-0's CPUs as xl shows them (Xen 4.17, -smp 4, two nodes), against the configured line.
    static func cpuFacts(commandLine: String, vcpus: String, node: String = "1", weight: Int = 512) -> XenFacts {
        let row = { (vcpu: Int, affinity: String) in "Domain-0                             0     \(vcpu)    \(vcpu + 2)   -b-       6.0  \(affinity) / all" }
        return XenFacts(
            info: "xen_scheduler          : credit2\nnr_nodes               : 2\nxen_commandline        : \(commandLine)\n", dmesg: nil,
            vcpuList: "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
                + vcpus.split(separator: " ").enumerated().map { row($0, String($1)) }.joined(separator: "\n") + "\n",
            domainList: "Name                                        ID   Mem VCPUs\tState\tTime(s) NODE Affinity\n"
                + "Domain-0                                     0   768     2     r-----      15.8 \(node)\n",
            schedTable: "Name                                ID Weight  Cap\nDomain-0                             0    \(weight)    0\n")
    }

    @Test func dom0sCPUsAndWeightAreJudgedLiveAgainstWhatIsConfigured() async throws {
        let host = try HealthHost()
        let editor = BootEditor(root: host.root)
        let edits: [BootEdit] = try [.set(.xen, "dom0_max_vcpus=2-3"), .set(.xen, "dom0_vcpus_pin"), .set(.xen, "dom0_nodes=1")]
        _ = await (try await editor.plan(edits)).plan.apply(ApplyContext(root: host.root))
        try host.demo.host.write(Dom0Sched.path, try Dom0Sched(weight: 512, cap: nil).fileText)
        let booted = "dom0_mem=4096M,max:4096M dom0_max_vcpus=2-3 dom0_vcpus_pin dom0_nodes=1"

        let healthy = await host.check(Self.cpuFacts(commandLine: booted, vcpus: "2 3"))
        for what in ["dom0 vCPUs", "dom0 vCPU pinning", "dom0 NUMA nodes", "Domain-0 weight"] {
            #expect(healthy.status(of: what) == .pass, "\(what): \(healthy.text)")
        }
        #expect(healthy.results.first { $0.what == "dom0 vCPU pinning" }?.hint == "0→2 1→3")
        #expect(healthy.results.first { $0.what == "Domain-0 weight" }?.hint == "weight 512, cap 0 in credit2")

        // Booted before the arguments were configured: all CPUs, unpinned, every node, Xen's weight.
        let stale = await host.check(Self.cpuFacts(commandLine: "dom0_mem=4096M,max:4096M", vcpus: "all all all all", node: "all", weight: 256))
        for what in ["dom0 vCPUs", "dom0 vCPU pinning", "dom0 NUMA nodes", "Domain-0 weight"] {
            #expect(stale.status(of: what) == .fail, "\(what): \(stale.text)")
        }
        #expect(stale.results.first { $0.what == "dom0 vCPUs" }?.hint == "4, configured dom0_max_vcpus=2-3; reboot: Xen runs with no dom0_max_vcpus")
        #expect(stale.results.first { $0.what == "Domain-0 weight" }?.hint?.contains("host-prepare dom0-sched apply") == true)

        // Booted with them, yet not so: Xen's own log says why.
        let ignored = await host.check(Self.cpuFacts(commandLine: booted, vcpus: "all all"))
        #expect(ignored.results.first { $0.what == "dom0 vCPU pinning" }?.hint?.hasSuffix("see xl dmesg") == true, "\(ignored.text)")

        // Without xl: cannot tell, never a guess.
        let blind = await host.check(XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed"))
        for what in ["dom0 vCPUs", "dom0 vCPU pinning", "dom0 NUMA nodes", "Domain-0 weight"] {
            #expect(blind.results.first { $0.what == what }?.hint?.hasPrefix("cannot tell: xl is not installed") == true, "\(what): \(blind.text)")
        }
    }

    /// Found on the first-boot machine (one CPU): xl shows the pinned vCPU's one-CPU set as "all".
    @Test func onAHostOfOneCPUAPinnedVCPUShowsAsAll() async throws {
        let host = try HealthHost()
        _ = await (try await BootEditor(root: host.root).plan([.set(.xen, "dom0_vcpus_pin")])).plan.apply(ApplyContext(root: host.root))
        var facts = Self.cpuFacts(commandLine: "dom0_vcpus_pin", vcpus: "all")
        facts.info = "nr_cpus                : 1\nxen_commandline        : dom0_vcpus_pin\n"
        let pinned = await host.check(facts)
        #expect(pinned.status(of: "dom0 vCPU pinning") == .pass && pinned.results.first { $0.what == "dom0 vCPU pinning" }?.hint == "0→0")
        facts.info = "nr_cpus                : 4\nxen_commandline        : dom0_vcpus_pin\n"
        #expect(await host.check(facts).status(of: "dom0 vCPU pinning") == .fail, "on four CPUs, all is not one")
    }

    /// The demo's configured hide list against a running one with a short entry XAPI cannot read.
    @Test func dom0AccessIsXAPIsWordAndAShortEntryIsWarnedAbout() async throws {
        let host = try HealthHost()
        let hide: BootEdit = try .set(.dom0, "xen-pciback.hide=(0000:01:00.0)(0000:04:00.0)")
        _ = await (try await BootEditor(root: host.root).plan([hide])).plan.apply(ApplyContext(root: host.root))
        try host.demo.host.setKernelCommandLine(DemoHost.dom0CommandLine + " xen-pciback.hide=(01:00.0)(0000:05:00.0)")
        let report = await host.check()
        #expect(report.results.filter { $0.what.hasPrefix("dom0 access ") }.map { "\($0.what) \($0.hint ?? "")" } == [
            "dom0 access 0000:01:00.0 disabled", "dom0 access 0000:04:00.0 disable_on_reboot",
            "dom0 access 0000:05:00.0 enable_on_reboot",
        ])
        #expect(report.status(of: "xen-pciback.hide entry (01:00.0)") == .warn)
        #expect(report.results.first { $0.what == "xen-pciback.hide entry (01:00.0)" }?.hint?.contains("XAPI cannot read it") == true)
        #expect(report.results.first { $0.what == "xen-pciback.hide entry (01:00.0)" }?.hint?.hasSuffix("gone at the next boot") == true)
    }

    /// XCP-ng's dom0 memory guidance against the host's RAM, and xl's autoballoon against a fixed dom0_mem.
    @Test func dom0MemoryIsJudgedAgainstTheGuidanceAndAutoballoon() async throws {
        let host = try HealthHost()
        let hint = { (report: HealthReport, what: String) in report.results.first { $0.what == what }?.hint ?? "" }
        _ = await (try await BootEditor(root: host.root).plan([.set(.xen, "dom0_mem=4096M,max:4096M")])).plan.apply(ApplyContext(root: host.root))
        var report = await host.check()
        #expect(hint(report, "dom0_mem") == "4096M,max:4096M (fixed)")
        #expect(report.status(of: "dom0 memory size") == .pass && hint(report, "dom0 memory size") == "4096 MiB of the host's 65413 MiB")
        #expect(report.status(of: "xl autoballoon") == nil, "no xl.conf: xl's default, auto")

        let bigHost = XenOutputs.infoWithIOMMU.replacing("65413", with: "262144")
        report = await host.check(XenFacts(info: bigHost, dmesg: XenOutputs.dmesgWithIOMMU))
        #expect(report.status(of: "dom0 memory size") == .warn)
        #expect(hint(report, "dom0 memory size").contains("XCP-ng advises 8 GiB"))

        for (setting, warned) in [("autoballoon=1", true), ("autoballoon=\"on\"  # yes", true), ("autoballoon=\"auto\"", false),
                                  ("autoballoon=0", false), ("#autoballoon=1", false)] {
            try host.demo.host.write("/etc/xen/xl.conf", "# xl's defaults\n\(setting)\n")
            #expect((await host.check()).status(of: "xl autoballoon") == (warned ? .warn : nil), "\(setting)")
        }

        try host.demo.host.write("/etc/xen/xl.conf", "autoballoon=1\n")
        _ = await (try await BootEditor(root: host.root).plan([.set(.xen, "dom0_mem=2048M,max:8G")])).plan.apply(ApplyContext(root: host.root))
        report = await host.check()
        #expect(hint(report, "dom0_mem") == "2048M,max:8G (ballooning up to 8G)")
        #expect(report.status(of: "xl autoballoon") == nil, "a ballooning dom0 wants autoballoon")
        #expect(report.status(of: "dom0 memory size") == .warn)

        report = await host.check(XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed"))
        #expect(hint(report, "dom0 memory size") == "cannot tell: xl is not installed")
    }

    @Test func aSchedulerWithoutWeightsFailsTheWeightCheck() async throws {
        let host = try HealthHost()
        try host.demo.host.write(Dom0Sched.path, "Weight=512\n")
        let report = await host.check(XenFacts(info: "xen_scheduler          : rtds\n", dmesg: nil))
        #expect(report.status(of: "Domain-0 weight") == .fail)
        #expect(report.results.first { $0.what == "Domain-0 weight" }?.hint?.contains("Xen runs the rtds scheduler") == true)
    }

    @Test func aXenDom0WithoutIOMMUFails() async throws {
        let host = try HealthHost()
        let report = await host.check(XenFacts(info: XenOutputs.infoWithoutIOMMU, dmesg: XenOutputs.dmesgWithoutIOMMU))
        #expect(report.status(of: "IOMMU") == .fail)
        #expect(report.status(of: "interrupt remapping") == .fail, "no IOMMU, no remapping: FAIL, not cannot tell")
        #expect(report.worst == .fail)
        let byCaps = await host.check(XenFacts(info: XenOutputs.infoWithoutIOMMU, dmesg: nil))
        #expect(byCaps.results.first { $0.what == "IOMMU" }?.hint?.contains("lacks hvm_directio") == true)
    }

    @Test func remappingThatXenDidNotEnableFails() async throws {
        let host = try HealthHost()
        let report = await host.check(XenFacts(info: XenOutputs.infoWithIOMMU, dmesg: XenOutputs.dmesgWithoutRemapping))
        #expect(report.status(of: "IOMMU") == .pass)
        #expect(report.status(of: "interrupt remapping") == .fail)
    }

    @Test func withoutXlTheIOMMUIsCannotTellNeverPass() async throws {
        let host = try HealthHost()
        let report = await host.check(XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed; install Xen's tools"))
        #expect(report.status(of: "IOMMU") == .warn)
        let hint = report.results.first { $0.what == "IOMMU" }?.hint ?? ""
        #expect(hint.hasPrefix("cannot tell"))
        #expect(hint.contains("xl is not installed"), "says why Xen cannot be asked")
        #expect(!hint.contains("not a Xen dom0"), "never doubts the dom0 check it follows")
    }

    @Test func aPendingRebootWarns() async throws {
        let host = try HealthHost()
        // The boot configuration hides a device; the running kernel does not.
        try host.demo.host.write(DemoHost.grubConfig, try #require(try host.root.readText(DemoHost.grubConfig))
            .replacing("plymouth.ignore-serial-consoles\n", with: "plymouth.ignore-serial-consoles xen-pciback.hide=(0000:04:00.0)\n"))
        let report = await host.check()
        #expect(report.status(of: "boot command line") == .warn)
        #expect(report.results.first { $0.what == "boot command line" }?.hint == "reboot needed: +xen-pciback.hide=(0000:04:00.0)")
    }

    @Test func hiddenDevicesOnTheWrongDriverFailAndOnTheRightOnePass() async throws {
        let host = try HealthHost()
        try host.demo.host.write("/etc/dom0kit/pciback.conf", "0000:04:00.0 pciback\n0000:00:14.0 pciback\n")
        var report = await host.check()
        #expect(report.status(of: "hidden device 0000:04:00.0") == .fail)
        _ = try await Reconciler(binder: Binder(root: host.root, sysfs: KernelSimulator(host.demo.host))).reconcile()
        report = await host.check()
        #expect(report.statuses(of: "hidden device 0000:04:00.0") == [.pass])
        #expect(report.statuses(of: "hidden device 0000:00:14.0") == [.pass, .warn], "a USB controller is warned about")
    }

    /// A check that cannot run at all says so under what it checks, never its type's name
    /// (found trying health on a malformed pciback.conf: "Checking HiddenDevicesCheck").
    @Test func aCheckThatCannotRunIsNamedByWhatItChecks() async throws {
        let host = try HealthHost()
        try host.demo.host.write("/etc/dom0kit/pciback.conf", "0000:04:00.0 pciback\nid 8086::10fb pciback\n")
        let report = await host.check()
        #expect(report.statuses(of: "hidden devices") == [.fail])
        let hint = try #require(report.results.first { $0.what == "hidden devices" }?.hint)
        #expect(hint.contains("/etc/dom0kit/pciback.conf:2"), "\(hint)")
        #expect(!report.results.contains { $0.what.hasSuffix("Check") })
        #expect(Set(HealthChecks.all.map(\.subject)).count == HealthChecks.all.count, "each check its own subject")
    }

    @Test func aDeviceHiddenByTheConfigAndTheCommandLineIsOneLine() async throws {
        let host = try HealthHost()
        try host.demo.host.write("/etc/dom0kit/pciback.conf", "0000:04:00.0 pciback\n0000:09:00.0 pciback\n")
        try host.demo.host.setKernelCommandLine("root=LABEL=root xen-pciback.hide=(0000:04:00.0)(0000:09:00.0)")
        let report = await host.check()
        #expect(report.statuses(of: "hidden device 0000:04:00.0") == [.fail], "on its old driver, said once")
        #expect(report.statuses(of: "hidden device 0000:09:00.0") == [.fail], "not on the bus, said once")
        #expect(report.results.first { $0.what == "hidden device 0000:09:00.0" }?.hint?.contains("not present") == true)
    }

    /// A function the kernel lists whose uevent is malformed is not "absent": the hint says what
    /// is wrong with it (the second hardening round found it reported as not on the bus).
    @Test func aListedDeviceWithAMalformedUeventIsNotCalledAbsent() async throws {
        let host = try HealthHost()
        try host.demo.host.write("/etc/dom0kit/pciback.conf", "0000:04:00.0 pciback\n")
        let uevent = try host.root.resolve("/sys/bus/pci/devices/0000:04:00.0/uevent")
        try FileSystem.remove(uevent)
        try AtomicWriter.write(Array("DRIVER=e1000e\nPCI_ID=zz:yy\n".utf8), to: uevent, in: HostRoot("/"))
        let report = await host.check()
        #expect(report.statuses(of: "hidden device 0000:04:00.0") == [.fail])
        let hint = try #require(report.results.first { $0.what == "hidden device 0000:04:00.0" }?.hint)
        #expect(hint.contains("listed on the bus, but its uevent has no well-formed PCI_ID line"), "\(hint)")
    }

    @Test func aKVMHostWithGroupsAndAnRMRRAndASharedGroup() async throws {
        let test = try TestHost()
        let host = test.host
        try host.add(FakeDriver("nouveau", ids: [PCIID(vendor: 0x10de, device: 0x1c81)]))
        try host.add(FakeDriver("snd_hda_intel", ids: [PCIID(vendor: 0x10de, device: 0x0fb9)]))
        try host.add(.vfioPCI)
        try host.add(FakePCIDevice(BDF("0000:01:00.0")!, vendor: 0x10de, device: 0x1c81, classCode: 0x030000, iommuGroup: 1))
        try host.add(FakePCIDevice(BDF("0000:01:00.1")!, vendor: 0x10de, device: 0x0fb9, classCode: 0x040300, driver: "snd_hda_intel", iommuGroup: 1))
        try host.setReservedRegions(group: 1, "0x00000000fee00000 0x00000000feefffff msi\n0x000000009d800000 0x000000009fffffff direct\n")
        try host.write("/etc/dom0kit/pciback.conf", "0000:01:00.0 vfio-pci\n")
        let kernel = KernelSimulator(host)
        try kernel.write("vfio-pci", to: "/sys/bus/pci/devices/0000:01:00.0/driver_override", in: test.root)
        try kernel.write("0000:01:00.0", to: "/sys/bus/pci/drivers_probe", in: test.root)
        let report = await HealthChecks.run(HealthContext(root: test.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(report.status(of: "running as Xen dom0") == .warn)
        #expect(report.status(of: "IOMMU") == .pass)
        #expect(report.statuses(of: "hidden device 0000:01:00.0") == [.pass, .fail, .warn], "shared group for vfio, and an RMRR")
    }

    @Test func aDeviceTheAgentWouldRefuseIsNotSentBackToTheAgent() async throws {
        let test = try TestHost()
        let host = test.host
        try host.add(FakeDriver("snd_hda_intel", ids: [PCIID(vendor: 0x10de, device: 0x0fb9)]))
        try host.add(.vfioPCI)
        try host.add(FakePCIDevice(BDF("0000:01:00.0")!, vendor: 0x10de, device: 0x1c81, classCode: 0x030000, iommuGroup: 1))
        try host.add(FakePCIDevice(BDF("0000:01:00.1")!, vendor: 0x10de, device: 0x0fb9, classCode: 0x040300, driver: "snd_hda_intel", iommuGroup: 1))
        try host.write("/etc/dom0kit/pciback.conf", "0000:01:00.0 vfio-pci\n")
        let report = await HealthChecks.run(HealthContext(root: test.root, xen: XenFacts(info: nil, dmesg: nil)))
        let hint = report.results.first { $0.what == "hidden device 0000:01:00.0" }?.hint ?? ""
        #expect(report.statuses(of: "hidden device 0000:01:00.0") == [.fail])
        #expect(hint.contains("pciback-agent refuses it: IOMMU group 1 is not viable: 0000:01:00.1"), "\(hint)")
        #expect(!hint.contains("run pciback-agent once"), "that advice would be refused again")
    }

    @Test func aNativeHostWhoseFirmwareHasDMARButNoGroupsIsTold() async throws {
        let test = try TestHost()
        try test.host.write("/sys/firmware/acpi/tables/DMAR", "DMAR")
        let report = await HealthChecks.run(HealthContext(root: test.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(report.results.first { $0.what == "IOMMU" }?.hint?.contains("intel_iommu=on") == true)
    }
}
