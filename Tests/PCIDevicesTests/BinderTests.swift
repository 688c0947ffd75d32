import Dom0Core
import FakeHost
import PCIDevices
import SystemPackage
import Testing
import TestSupport

/// A host with a disk controller, a management NIC behind a bridge, a guest NIC, a GPU and its
/// audio in one IOMMU group, and pciback and vfio-pci loaded; its kernel is the simulator.
struct BindHost {
    let test: TestHost
    let kernel: KernelSimulator
    var root: HostRoot { test.root }
    static let sata = BDF("0000:00:17.0")!, management = BDF("0000:00:1f.6")!, nic = BDF("0000:04:00.0")!
    static let gpu = BDF("0000:01:00.0")!, audio = BDF("0000:01:00.1")!

    init(driverOverride: Bool = true) throws {
        test = try TestHost()
        let host = test.host
        let root = host.root
        for driver in [FakeDriver("ahci", ids: [PCIID(vendor: 0x8086, device: 0xa102)]),
                       FakeDriver("e1000e", ids: [PCIID(vendor: 0x8086, device: 0x15b8), PCIID(vendor: 0x8086, device: 0x10d3)]),
                       FakeDriver("nouveau", ids: [PCIID(vendor: 0x10de, device: 0x1c81)]),
                       FakeDriver("snd_hda_intel", ids: [PCIID(vendor: 0x10de, device: 0x0fb9)]), .pciback, .vfioPCI] {
            try host.add(driver)
        }
        try host.add(FakePCIDevice(Self.sata, vendor: 0x8086, device: 0xa102, classCode: 0x010601, driver: "ahci", iommuGroup: 5))
        try host.add(FakePCIDevice(Self.management, vendor: 0x8086, device: 0x15b8, classCode: 0x020000, driver: "e1000e", iommuGroup: 6))
        try host.add(FakePCIDevice(Self.nic, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e", iommuGroup: 7,
                                   hasDriverOverride: driverOverride))
        try host.add(FakePCIDevice(Self.gpu, vendor: 0x10de, device: 0x1c81, classCode: 0x030000, driver: "nouveau", iommuGroup: 2))
        try host.add(FakePCIDevice(Self.audio, vendor: 0x10de, device: 0x0fb9, classCode: 0x040300, driver: "snd_hda_intel", iommuGroup: 2))
        // dom0's root is on sda1 behind the SATA controller; its default route goes through xenbr0 over the onboard NIC.
        try host.write("/proc/self/mountinfo", "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
        let block = try root.resolve("/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1")
        try FileSystem.createDirectories(block)
        try FileSystem.createDirectories(root.resolve("/sys/dev/block"))
        try FileSystem.symlink("../../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1",
                               at: root.resolve("/sys/dev/block/8:1", followFinalLink: false))
        try host.write("/proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
                       + "xenbr0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
        try FileSystem.createDirectories(root.resolve("/sys/class/net/xenbr0/brif/eth0"))
        try FileSystem.createDirectories(root.resolve("/sys/class/net/eth0"))
        try FileSystem.symlink("../../../devices/pci0000:00/0000:00:1f.6", at: root.resolve("/sys/class/net/eth0/device", followFinalLink: false))
        kernel = KernelSimulator(host)
    }

    /// A binder that waits long for asynchronous probes: a loaded CI machine may delay the fake kernel's timer.
    var binder: Binder {
        var binder = Binder(root: root, sysfs: kernel)
        binder.probeTimeout = .seconds(30)
        return binder
    }

    func rules(_ text: String) throws { try test.host.write("/etc/dom0kit/pciback.conf", text) }

    func reconcile(force: Bool = false, dryRun: Bool = false) async throws -> ReconcileReport {
        try await Reconciler(binder: binder, force: force, dryRun: dryRun).reconcile()
    }

    func driver(_ bdf: BDF) throws -> String? { try PCIBus(root: root).device(bdf)?.driver }

    func outcome(_ report: ReconcileReport, _ bdf: BDF) -> BindOutcome? { report.devices.first { $0.bdf == bdf }?.outcome }
}

@Suite("Binding hidden devices, end to end on the fake kernel")
struct BinderTests {
    @Test func driverOverrideUnbindAndProbeBindTheDevice() async throws {
        let host = try BindHost()
        try host.rules("0000:04:00.0 pciback\n")
        let report = try await host.reconcile()
        #expect(host.outcome(report, BindHost.nic) == .bound)
        #expect(try host.driver(BindHost.nic) == "pciback")
        #expect(try host.root.readText("/sys/bus/pci/devices/0000:04:00.0/driver_override") == "pciback\n")
        #expect(report.summary == "1 hidden, 1 bound, 0 pending")
        let again = try await host.reconcile()
        #expect(host.outcome(again, BindHost.nic) == .alreadyBound)
    }

    /// The kernel's share is what the writes took (the simulator's reactions), the rest is the binder's.
    @Test func aBindSaysHowMuchOfItsTimeWasTheKernels() async throws {
        let host = try BindHost()
        let nic = try #require(try PCIBus(root: host.root).device(BindHost.nic))
        let clock = ContinuousClock(), started = clock.now
        var timing = BindTiming()
        let outcomes = try await host.binder.bind([(device: nic, driver: .pciback)], timing: &timing)
        let spent = clock.now - started
        #expect(outcomes[BindHost.nic]?.0 == .bound)
        #expect(timing.kernel > .zero, "driver_override, unbind and drivers_probe were written")
        #expect(timing.kernel + timing.waiting <= spent)
        // Nothing to bind: no write, no kernel time.
        var idle = BindTiming()
        let again = try #require(try PCIBus(root: host.root).device(BindHost.nic))
        _ = try await host.binder.bind([(device: again, driver: .pciback)], timing: &idle)
        #expect(idle == BindTiming())
    }

    @Test func withoutDriverOverridePcibackGetsTheSlotOnce() async throws {
        let host = try BindHost(driverOverride: false)
        try host.rules("04:00.0 pciback\n")
        #expect(host.outcome(try await host.reconcile(), BindHost.nic) == .bound)
        #expect(try host.root.readText("/sys/bus/pci/drivers/pciback/slots") == "0000:04:00.0\n")
        // Unbound behind the agent's back: the slot is there already, so new_slot is not written twice.
        try host.kernel.write("0000:04:00.0", to: "/sys/bus/pci/drivers/pciback/unbind", in: host.root)
        #expect(host.outcome(try await host.reconcile(), BindHost.nic) == .bound)
        #expect(try host.root.readText("/sys/bus/pci/drivers/pciback/slots") == "0000:04:00.0\n")
    }

    @Test func theRunningHideListHidesForPciback() async throws {
        let host = try BindHost()
        try host.test.host.setKernelCommandLine("root=/dev/sda1 xen-pciback.hide=(0000:04:00.0)")
        let report = try await host.reconcile()
        #expect(report.devices.map(\.rule) == ["0000:04:00.0 pciback"])
        #expect(try host.driver(BindHost.nic) == "pciback")
    }

    /// The daemon's status after a pass over only the devices udev named still describes the whole host.
    @Test func aPassOverAnnouncedDevicesUpdatesTheWholeHostsReport() async throws {
        let host = try BindHost()
        try host.rules("0000:04:00.0 pciback\n0000:01:00.* vfio-pci\n")
        let whole = try await host.reconcile()
        #expect(whole.summary == "3 hidden, 3 bound, 0 pending")
        // The GPU is hot-removed: udev names it, the pass over it finds nothing.
        try host.test.host.remove(BindHost.gpu)
        let announced: Set<BDF> = [BindHost.gpu]
        let pass = try await Reconciler(binder: host.binder).reconcile(only: announced)
        #expect(pass.summary == "0 hidden, 0 bound, 0 pending")
        let updated = whole.updated(by: pass, over: announced)
        #expect(updated.summary == "2 hidden, 2 bound, 0 pending")
        #expect(updated.devices.map(\.bdf) == [BindHost.audio, BindHost.nic])
    }

    @Test func theRootDiskControllerIsRefusedUnlessForced() async throws {
        let host = try BindHost()
        try host.rules("class 0106 pciback\n")
        let report = try await host.reconcile()
        #expect(host.outcome(report, BindHost.sata) == .refused)
        #expect(report.devices.first?.message.hasPrefix("it controls the disk of dom0's root filesystem;") == true)
        #expect(report.status == .refused)
        #expect(try host.driver(BindHost.sata) == "ahci", "nothing was written")
        #expect(try host.root.readText("/sys/bus/pci/devices/0000:00:17.0/driver_override") == "(null)\n")
        #expect(host.outcome(try await host.reconcile(force: true), BindHost.sata) == .bound)
    }

    @Test func theDefaultRouteNICIsRefused() async throws {
        let host = try BindHost()
        try host.rules("id 8086:15b8 pciback\n")
        let report = try await host.reconcile()
        #expect(host.outcome(report, BindHost.management) == .refused)
        #expect(report.devices.first?.message.hasPrefix("it carries dom0's default route (xenbr0);") == true)
        let dryRun = try await host.reconcile(dryRun: true)
        #expect(host.outcome(dryRun, BindHost.management) == .refused, "a dry run meets the same refusal")
        #expect(dryRun.status == .refused)
        #expect(try host.driver(BindHost.management) == "e1000e")
    }

    @Test func aNonViableGroupIsRefusedForVfioButNotWhenTheWholeGroupGoes() async throws {
        let host = try BindHost()
        try host.rules("0000:01:00.0 vfio-pci\n")
        let report = try await host.reconcile()
        #expect(host.outcome(report, BindHost.gpu) == .refused)
        #expect(report.devices.first?.message.hasPrefix("IOMMU group 2 is not viable: 0000:01:00.1 (snd_hda_intel) stay with dom0;") == true)
        try host.rules("01:00.* vfio-pci\n")
        let both = try await host.reconcile()
        #expect(both.devices.map(\.outcome) == [.bound, .bound])
        #expect(try host.driver(BindHost.audio) == "vfio-pci")
    }

    @Test func aDeviceVanishingMidBindIsReportedNotFatal() async throws {
        let host = try BindHost()
        try host.rules("0000:04:00.0 pciback\n0000:01:00.0 pciback\n")
        try host.kernel.vanish(BindHost.nic, onWriteTo: "/sys/bus/pci/drivers/e1000e/unbind")
        let report = try await host.reconcile()
        #expect(host.outcome(report, BindHost.nic) == .vanished)
        #expect(host.outcome(report, BindHost.gpu) == .bound, "the pass goes on")
    }

    @Test func busyWritesAreTriedAgain() async throws {
        let host = try BindHost()
        try host.rules("0000:04:00.0 pciback\n")
        try host.kernel.injectFailure(.resourceBusy, at: "/sys/bus/pci/drivers/e1000e/unbind", times: 2)
        #expect(host.outcome(try await host.reconcile(), BindHost.nic) == .bound)
        try host.kernel.injectFailure(.resourceBusy, at: "/sys/bus/pci/drivers/nouveau/unbind", times: 20)
        try host.rules("0000:01:00.0 pciback\n")
        let stuck = try await host.reconcile()
        #expect(host.outcome(stuck, BindHost.gpu) == .failed)
        #expect(stuck.devices.first?.message.contains("Device or resource busy") == true)
    }

    @Test func anAsynchronousProbeIsWaitedFor() async throws {
        let host = try BindHost()
        try host.test.host.setAsynchronousProbe("vfio-pci", milliseconds: 150)
        try host.rules("01:00.* vfio-pci\n")
        let report = try await host.reconcile()
        #expect(report.devices.map(\.outcome) == [.bound, .bound])
    }

    @Test func restoreGivesTheDeviceBack() async throws {
        let host = try BindHost()
        try host.rules("0000:04:00.0 pciback\n")
        _ = try await host.reconcile()
        try await host.binder.restore(BindHost.nic)
        #expect(try host.driver(BindHost.nic) == "e1000e")
        #expect(try host.root.readText("/sys/bus/pci/devices/0000:04:00.0/driver_override") == "(null)\n")
    }

    @Test(arguments: [
        ("0000:04:00.0 virtio\n", "the last word must be one of"),
        ("id 10de pciback\n", "ids are vvvv:dddd"),
        ("class 3 pciback\n", "a class is four hex digits"),
        ("vfs-of nowhere vfio-pci\n", "vfs-of takes a PCI address"),
        ("0000.04:00.0 pciback\n", "is not a PCI address"),
        ("id 8086::10fb pciback\n", "ids are vvvv:dddd"),
        ("id 8086:10fb:0:0 pciback\n", "ids are vvvv:dddd"),
        ("0000:04:00.0 0000:04:00.1 pciback extra\n", "unexpected words"),
        ("0000:04:00.0 \u{FF}pciback\n", "the last word must be one of"),
        ("pciback\n", "unexpected words"),
        ("class 0200 0300 pci-stub\n", "unexpected words"),
    ])
    func badRulesNameFileAndLine(text: String, why: String) throws {
        let error = try #require(throws: Dom0Error.self) { try BindRules.parse("# rules\n" + text, file: "/etc/dom0kit/pciback.conf") }
        #expect(error.location == "/etc/dom0kit/pciback.conf:2")
        #expect(error.why?.contains(why) == true, "\(error)")
    }

    @Test func rulesWrittenWithCRLFTabsOrNoBreakSpacesAreReadLineByLine() throws {
        let rules = try BindRules.parse("# made on Windows\r\n0000:04:00.0\tpciback\r\n\r\nclass 0200  pci-stub # NICs\r\n", file: "test")
        #expect(rules.map(\.description) == ["0000:04:00.0 pciback", "class 0200 pci-stub"])
        #expect(rules.map(\.source) == ["test:2", "test:4"])
        // A line pasted from a wiki page, a no-break space between its words, reads the same.
        let pasted = try BindRules.parse("0000:04:00.0\u{A0}pciback\nclass\u{2003}0200 pci-stub\n", file: "test")
        #expect(pasted.map(\.description) == ["0000:04:00.0 pciback", "class 0200 pci-stub"])
        #expect(pasted.map(\.source) == ["test:1", "test:2"])
        // Text that is not a blank stays part of its word: a zero-width joiner, an accented letter.
        #expect(throws: Dom0Error.self) { try BindRules.parse("0000:04:00.0\u{200D}pciback\n", file: "test") }
        #expect(throws: Dom0Error.self) { try BindRules.parse("0000:04:00.0 pcibäck\n", file: "test") }
    }

    @Test func theFirstMatchingRuleDecidesWhateverItsKind() throws {
        let rules = BindRuleSet(try BindRules.parse("""
            class 0200 pci-stub
            0000:04:00.0 pciback
            0000:04:00.0 vfio-pci
            0000:01:00.1 vfio-pci
            0000:01:00.* pciback
            """, file: "test"))
        let host = try BindHost()
        let bus = PCIBus(root: host.root)
        let nic = try #require(try bus.device(BindHost.nic)), audio = try #require(try bus.device(BindHost.audio))
        let gpu = try #require(try bus.device(BindHost.gpu))
        #expect(rules.target(for: nic)?.driver == .pciStub, "a class rule before the address rules wins")
        #expect(rules.target(for: audio)?.driver == .vfioPCI, "an address rule before a wildcard wins")
        #expect(rules.target(for: gpu)?.driver == .pciback)
        #expect(rules.firstMatch(for: nic) == 0)
    }

    @Test func devicesAreReadFromUeventAndLinks() throws {
        let host = try BindHost()
        let audio = try #require(try PCIBus(root: host.root).device(BindHost.audio))
        #expect(audio.vendor == 0x10de && audio.device == 0x0fb9 && audio.subsystemVendor == 0x10de)
        #expect(audio.classCode == 0x040300)
        #expect(audio.driver == "snd_hda_intel" && audio.iommuGroup == 2 && audio.physicalFunction == nil)
        #expect(try PCIBus(root: host.root).device(BDF("0000:09:00.0")!) == nil)
    }

    @Test func manyDevicesAreBoundInOnePassWithTheirProbesOverlapping() async throws {
        let host = try BindHost()
        try host.test.host.add(FakeDriver("ixgbevf", ids: [PCIID(vendor: 0x8086, device: 0x1515)]))
        let vfs = (0..<32).map { BDF(bus: 0x20, device: UInt8($0 / 8), function: UInt8($0 % 8))! }
        for vf in vfs {
            try host.test.host.add(FakePCIDevice(vf, vendor: 0x8086, device: 0x1515, classCode: 0x020000, driver: "ixgbevf"))
        }
        try host.test.host.setAsynchronousProbe("vfio-pci", milliseconds: 50)
        try host.rules("id 8086:1515 vfio-pci\n")
        let report = try await host.reconcile()
        #expect(report.devices.count == 32)
        #expect(report.devices.allSatisfy { $0.outcome == .bound && $0.driverBefore == "ixgbevf" && $0.driverAfter == "vfio-pci" })
        for vf in vfs { #expect(try host.driver(vf) == "vfio-pci") }
    }

    @Test func virtualFunctionsOfAPhysicalFunctionAreHidden() async throws {
        let host = try BindHost()
        try host.test.host.add(FakeDriver("ixgbe", ids: [PCIID(vendor: 0x8086, device: 0x10fb)]))
        try host.test.host.add(FakeDriver("ixgbevf", ids: [PCIID(vendor: 0x8086, device: 0x10ed)]))
        try host.test.host.add(FakePCIDevice(BDF("0000:05:00.0")!, vendor: 0x8086, device: 0x10fb, classCode: 0x020000, driver: "ixgbe",
                                             iommuGroup: 9, totalVFs: 8, vfDevice: 0x10ed, vfOffset: 128, vfStride: 2))
        try host.kernel.write("4", to: "/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs", in: host.root)
        try host.rules("vfs-of 0000:05:00.0 vfio-pci\n")
        let report = try await host.reconcile()
        #expect(report.devices.count == 4)
        #expect(report.devices.allSatisfy { $0.outcome == .bound })
        #expect(try host.driver(BDF("0000:05:00.0")!) == "ixgbe", "the PF stays")
    }
}
