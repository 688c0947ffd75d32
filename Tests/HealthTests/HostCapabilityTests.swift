import BootConfig
import Dom0Core
import Dom0KitDemo
import FakeHost
import Glibc
import Health
import SystemPackage
import Testing
import TestSupport

/// The checks that go past virt-host-validate's: hardware virtualisation, the IOMMU in firmware
/// and enabled, guests' network devices, cgroup controllers, dom0's disks and device models.
@Suite("Health: the host's capabilities, natively and under Xen")
struct HostCapabilityTests {
    static let native = XenFacts(info: nil, dmesg: nil, unavailable: "xl is not installed")

    func report(_ test: TestHost, _ xen: XenFacts = native) async -> HealthReport {
        await HealthChecks.run(HealthContext(root: test.root, xen: xen))
    }

    func hint(_ report: HealthReport, _ what: String) -> String { report.results.first { $0.what == what }?.hint ?? "" }

    @Test func hardwareVirtualisationIsTheCPUsFlagAndAKVMDeviceNatively() async throws {
        let test = try TestHost()
        try test.host.write("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 x2apic\n")
        var report = await report(test)
        #expect(report.status(of: "hardware virtualisation") == .fail)
        #expect(hint(report, "hardware virtualisation").contains("neither vmx nor svm"))
        #expect(report.status(of: "/dev/kvm") == nil, "no /dev/kvm line without the flag, as virt-host-validate")

        try test.host.write("/proc/cpuinfo", "vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm sse2\n")
        report = await self.report(test)
        #expect(report.status(of: "hardware virtualisation") == .pass)
        #expect(hint(report, "hardware virtualisation") == "svm (AMD-V)")
        #expect(report.status(of: "/dev/kvm") == .fail)
        #expect(hint(report, "/dev/kvm").contains("modprobe kvm_amd"))

        try test.host.write("/dev/kvm", "")
        report = await self.report(test)
        #expect(report.status(of: "/dev/kvm") == .pass, "\(report.text)")
    }

    @Test func underXenHardwareVirtualisationIsXensVirtCaps() async throws {
        let test = try TestHost()
        try test.host.makeXenDom0()
        try test.host.write("/proc/cpuinfo", "flags\t\t: fpu sse2\n")  // Xen masks vmx from a PV dom0
        var report = await report(test, XenFacts(info: XenOutputs.infoWithIOMMU, dmesg: nil))
        #expect(report.status(of: "hardware virtualisation") == .pass, "\(report.text)")
        #expect(report.status(of: "/dev/kvm") == nil)
        report = await self.report(test, XenFacts(info: XenOutputs.infoWithIOMMU.replacing("pv hvm hvm_directio", with: "pv pv_directio"), dmesg: nil))
        #expect(report.status(of: "hardware virtualisation") == .warn, "PV guests still run")
        #expect(hint(report, "hardware virtualisation").contains("PV guests only"))
        report = await self.report(test, Self.native)
        #expect(hint(report, "hardware virtualisation") == "cannot tell: xl is not installed")
    }

    @Test func theIOMMUInFirmwareIsToldApartFromTheIOMMUEnabled() async throws {
        let test = try TestHost()
        var report = await report(test)
        #expect(report.status(of: "IOMMU in firmware") == .fail)
        #expect(report.status(of: "IOMMU") == .fail)

        try test.host.write("/sys/firmware/acpi/tables/IVRS", "IVRS")
        try test.host.setKernelCommandLine("root=/dev/sda1 amd_iommu=off")
        report = await self.report(test)
        #expect(hint(report, "IOMMU in firmware") == "ACPI IVRS (AMD-Vi)")
        #expect(hint(report, "IOMMU") == "the firmware has IVRS but the kernel runs with amd_iommu=off: remove it")
        try test.host.setKernelCommandLine("root=/dev/sda1")
        report = await self.report(test)
        #expect(hint(report, "IOMMU").contains("AMD-Vi, which is on by default"))

        try FileSystem.createDirectories(test.root.resolve("/sys/kernel/iommu_groups/0"))
        report = await self.report(test)
        #expect(report.status(of: "IOMMU in firmware") == .pass && report.status(of: "IOMMU") == .pass)

        // Xen 4.17 reverses DMAR's signature so that dom0 leaves the IOMMU to it (seen in xen-dom0-vtd).
        let xen = try TestHost()
        try xen.host.makeXenDom0()
        try xen.host.write("/sys/firmware/acpi/tables/RMAD", "RMAD")
        report = await self.report(xen, XenFacts(info: XenOutputs.infoWithIOMMU, dmesg: XenOutputs.dmesgWithIOMMU))
        #expect(hint(report, "IOMMU in firmware") == "ACPI RMAD (Intel VT-d, DMAR kept by Xen)")
        #expect(report.status(of: "IOMMU") == .pass)
    }

    @Test func guestsNetworkDevicesAtVirtHostValidatesLevels() async throws {
        let test = try TestHost()
        var report = await report(test)
        #expect(report.status(of: "/dev/net/tun") == .fail)
        #expect(report.status(of: "/dev/vhost-net") == .warn)
        try test.host.write("/dev/net/tun", "")
        try test.host.write("/dev/vhost-net", "")
        report = await self.report(test)
        #expect(report.status(of: "/dev/net/tun") == .pass && report.status(of: "/dev/vhost-net") == .pass)

        let xen = try TestHost()
        try xen.host.makeXenDom0()
        report = await self.report(xen)
        #expect(report.status(of: "/dev/net/tun") == .warn, "HVM guests' emulated NICs")
        #expect(report.status(of: "/dev/vhost-net") == nil, "vhost-net is KVM's")
    }

    static let mountinfoV1 = """
        22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
        30 22 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
        32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,memory

        """

    @Test(arguments: [false, true]) func cgroupControllersOnV2AndV1(xen: Bool) async throws {
        let test = try TestHost()
        if xen { try test.host.makeXenDom0() }
        try test.host.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io pids\n")
        try test.host.write("/proc/sys/kernel/osrelease", "6.1.0-41-amd64\n")
        var report = await report(test)
        let lines = report.results.filter { $0.what.hasPrefix("cgroup ") }.map(\.what)
        let guests = ["cpu", "cpuacct", "cpuset", "memory", "devices", "blkio"].map { "cgroup \($0) controller" }
        #expect(lines == (xen ? ["cgroup cpu controller"] : guests), "the slice's cpu; natively virt-host-validate's six")
        #expect(report.status(of: "cgroup cpu controller") == .pass)
        if !xen {
            #expect(hint(report, "cgroup cpuacct controller") == "v2: cpu.stat accounts CPU time")
            #expect(hint(report, "cgroup blkio controller") == "v2: io")
            #expect(report.status(of: "cgroup memory controller") == .warn)
            #expect(hint(report, "cgroup devices controller").hasPrefix("cannot tell: cgroup v2 confines devices with BPF"))
            try test.host.write("/boot/config-6.1.0-41-amd64", "CONFIG_CGROUP=y\nCONFIG_CGROUP_BPF=y\n")
            report = await self.report(test)
            #expect(hint(report, "cgroup devices controller") == "v2: BPF device programs (CONFIG_CGROUP_BPF)")
        }

        // The slice guarantees memory: without the memory controller that does nothing.
        try test.host.write("/etc/dom0kit/control-slice.conf", "[Slice]\nMemoryMin=1G\n")
        report = await self.report(test)
        #expect(report.status(of: "cgroup memory controller") == .fail)
        #expect(hint(report, "cgroup memory controller").contains("control.slice's settings do nothing without it"))

        // cgroup v1: the mounted hierarchies, as CentOS 7's systemd (XenServer 8's dom0) mounts them.
        try FileSystem.remove(test.root.resolve("/sys/fs/cgroup/cgroup.controllers"))
        try test.host.write("/proc/self/mountinfo", Self.mountinfoV1)
        report = await self.report(test)
        #expect(hint(report, "cgroup cpu controller") == "v1, mounted at /sys/fs/cgroup/cpu,cpuacct")
        #expect(report.status(of: "cgroup memory controller") == .pass)
        if !xen { #expect(report.status(of: "cgroup cpuset controller") == .warn) }
    }

    @Test func deviceModelsOutsideEverySliceAreWarnedAboutWhileTheSliceWeighsMore() async throws {
        let test = try TestHost()
        try test.host.makeXenDom0()
        try test.host.write("/proc/4100/comm", "qemu-system-i38\n")  // comm keeps 15 characters
        try test.host.write("/proc/4100/cgroup", "0::/\n")
        try test.host.write("/proc/4200/comm", "qemu-dm-7\n")
        try test.host.write("/proc/4200/cgroup", "11:memory:/\n4:cpu,cpuacct:/vm.slice/qemu-dm-7.scope\n")
        var report = await report(test)
        #expect(report.status(of: "device models") == nil, "no slice installed: nothing weighs more")

        try test.host.write("/etc/systemd/system/control.slice", "[Slice]\nCPUWeight=1000\n")
        report = await self.report(test)
        #expect(report.status(of: "device models") == .warn)
        #expect(hint(report, "device models").hasPrefix("qemu-system-i38 (pid 4100) outside any slice while control.slice weighs 1000, 10× them"))
        #expect(hint(report, "device models").contains("xen-api#6150"))

        try test.host.write("/proc/4100/cgroup", "0::/vm.slice/qemu-4100.scope\n")
        report = await self.report(test)
        #expect(hint(report, "device models") == "none outside a slice (2 running)")

        try test.host.write("/etc/systemd/system/control.slice", "[Slice]\nCPUWeight=150\n")
        try test.host.write("/proc/4100/cgroup", "0::/\n")
        report = await self.report(test)
        #expect(hint(report, "device models").contains("weighs 150, 1.5× them"), "\(report.text)")

        try test.host.write("/etc/systemd/system/control.slice", "[Slice]\nCPUWeight=100\n")
        report = await self.report(test)
        #expect(report.status(of: "device models") == nil, "an unraised slice competes with nobody")
    }
}

/// Dom0's disks, measured by statvfs on real (tmpfs) filesystems of known size.
@Suite("Health: dom0's disks", .serialized)
struct Dom0DisksTests {
    /// A tmpfs of `kibibytes` at `path`, `used` KiB of it taken by a file.
    func mountFull(_ path: FilePath, kibibytes: Int, used: Int) throws {
        _ = try FileSystem.createDirectories(path)
        #expect(mount("tmpfs", path.string, "tmpfs", 0, "size=\(kibibytes)k") == 0, "mounting tmpfs needs root: errno \(errno)")
        let fd = try FileDescriptor.open(path.appending("filler"), .writeOnly, options: [.create], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        _ = try fd.writeAll([UInt8](repeating: 0x5a, count: used << 10))
    }

    func unmount(_ paths: FilePath...) { for path in paths { umount2(path.string, Int32(MNT_DETACH)) } }

    @Test func rootAndLogsWarnFrom80AndFailFrom90PercentUsed() async throws {
        let directory = try TemporaryDirectory("dom0kit-disks")
        let rootPath = directory.appending("root")
        try mountFull(rootPath, kibibytes: 1024, used: 870)
        defer { unmount(rootPath.appending("var/log"), rootPath) }
        let root = try HostRoot(rootPath)
        _ = try FileSystem.createDirectories(rootPath.appending("var/log"))
        var report = await HealthChecks.run(HealthContext(root: root, xen: HostCapabilityTests.native))
        #expect(report.status(of: "dom0 disk /") == .warn, "\(report.text)")
        #expect(report.results.first { $0.what == "dom0 disk /" }?.hint?.hasPrefix("86% used, 0 of 1 MiB") == true, "\(report.text)")
        #expect(report.status(of: "dom0 disk /var/log") == nil, "/var/log on / is /'s line")

        try mountFull(rootPath.appending("var/log"), kibibytes: 1024, used: 960)
        report = await HealthChecks.run(HealthContext(root: root, xen: HostCapabilityTests.native))
        #expect(report.status(of: "dom0 disk /var/log") == .fail, "\(report.text)")
        unmount(rootPath.appending("var/log"))
        try mountFull(rootPath.appending("var/log"), kibibytes: 1024, used: 100)
        report = await HealthChecks.run(HealthContext(root: root, xen: HostCapabilityTests.native))
        #expect(report.status(of: "dom0 disk /var/log") == .pass)
    }

    /// The XS8 layout gives logs a partition of their own: logs on / there are told.
    @Test func onTheXS8LayoutLogsOnRootAreTold() async throws {
        let host = try HealthHost()
        let disk = try host.root.resolve(DemoHost.disk)
        let table = "label: gpt\n" + String(repeating: ",16MiB\n", count: 6)
        try await CommandRunner().check(["sfdisk", "--quiet", disk.string], input: Array(table.utf8))
        try host.demo.host.write("/proc/self/mountinfo", "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
        _ = try FileSystem.createDirectories(host.root.resolve("/sys/block/sda/sda1"))
        _ = try FileSystem.createDirectories(host.root.resolve("/sys/dev/block"))
        try FileSystem.symlink("../../block/sda/sda1", at: host.root.resolve("/sys/dev/block/8:1", followFinalLink: false))
        _ = try FileSystem.createDirectories(host.root.resolve("/var/log"))
        let report = await host.check()
        #expect(report.status(of: "dom0 disk layout") == .pass, "\(report.text)")
        #expect(report.status(of: "dom0 disk /var/log") == .warn)
        #expect(report.results.first { $0.what == "dom0 disk /var/log" }?.hint?.contains("mount /dev/sda's partition 5 (logs) at /var/log") == true)
    }
}
