import Dom0Core
import Dom0KitDemo
import HostSpec
import PCIDevices
import SystemPackage
import Testing
import TestSupport

@Suite("host-prepare demo")
struct DemoTests {
    @Test func buildsTheDemoHostAndLeavesNothingToDo() async throws {
        let directory = try TemporaryDirectory()
        let report = try await Demo.run(in: directory.appending("demo"))
        let root = try HostRoot(directory.appending("demo/root"))
        #expect(report.root == root.path.string)
        #expect(try root.readText("/proc/xen/capabilities") == "control_d\n")
        #expect(try root.readText("/boot/efi/EFI/xenserver/grub.cfg")?.contains("menuentry 'XCP-ng (Serial)'") == true)
        #expect(try root.exists("/etc/default/grub"))
        #expect(try root.exists("/usr/lib/systemd/system/xapi.service"))
        #expect(try FileSystem.status(root.resolve("/dev/sda"))?.st_size == 64 << 30)
        #expect(report.devices.filter(\.hide).map(\.address) == ["0000:01:00.0", "0000:01:00.1", "0000:04:00.0"])
        #expect(report.devices.first { $0.address == "0000:01:00.0" }?.name.hasPrefix("NVIDIA Corporation") == true)
        // It wrote its spec and pack beside the host, then planned, applied, applied again and checked.
        #expect(report.spec == directory.appending("demo/host.yaml").string)
        #expect(try HostSpec.load(FilePath(report.spec)).boot?.settings.hide == (try HideList(addresses: ["0000:01:00.0", "0000:01:00.1", "0000:04:00.0"])))
        #expect(report.pack.hasSuffix(".iso"), "xorriso is installed here, so the pack is an ISO")
        #expect(report.plan.sections.map(\.part.rawValue) == ["disk", "packs", "boot", "control_slice", "agent", "devices"])
        #expect(report.apply.succeeded && report.apply.needsReboot)
        #expect(report.applyAgain.nothingToDo)
        #expect(report.check.worst != .fail, "\(report.check.text)")
        // dom0-partition laid out the disk; xen-cmdline hid the three guest devices; control-slice
        // wrote the slice and a drop-in per daemon; the agent's rules are written and the devices bound.
        #expect(try root.readText("/etc/systemd/system/xapi.service.d/50-dom0kit-slice.conf")?.contains("Slice=control.slice") == true)
        let grub = try #require(try root.readText("/boot/efi/EFI/xenserver/grub.cfg"))
        #expect(grub.ranges(of: "xen-pciback.hide=(0000:01:00.0)(0000:01:00.1)(0000:04:00.0)").count == 2)
        #expect(try root.readText("/etc/dom0kit/pciback.conf")?.contains("0000:04:00.0 pciback\n") == true)
        #expect(try root.exists("/etc/xensource/installed-repos/dom0kit:demo-tools/dom0kit.json"))
    }

    @Test func runsAgainInItsOwnDirectory() async throws {
        let directory = try TemporaryDirectory()
        _ = try await Demo.run(in: directory.path)
        let again = try await Demo.run(in: directory.path)
        #expect(again.apply.succeeded)
    }

    @Test func refusesADirectoryHoldingOtherFiles() async throws {
        let directory = try TemporaryDirectory()
        let precious = directory.appending("thesis.tex")
        try AtomicWriter.write(Array("years of work".utf8), to: "/thesis.tex", in: HostRoot(directory.path))
        let error = try await #require(throws: Dom0Error.self) { try await Demo.run(in: directory.path) }
        #expect(error.status == .refused)
        #expect(try FileSystem.entries(directory.path) == ["thesis.tex"])
        #expect(try contents(precious) == "years of work")
    }

    @Test func withoutADirectoryItMakesATemporaryOne() async throws {
        let report = try await Demo.run(in: nil)
        defer { try? FileSystem.removeTree(FilePath(report.directory)) }
        #expect(report.directory.contains("dom0kit-demo."))
        #expect(try FileSystem.status(FilePath(report.root))?.isDirectory == true)
    }
}
