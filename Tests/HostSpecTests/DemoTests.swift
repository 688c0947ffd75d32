import Dom0Core
import HostSpec
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
        #expect(report.apply.succeeded)
        #expect(report.planAfterApply.isEmpty)
        // dom0-partition laid out the disk; xen-cmdline hid the three guest devices; control-slice
        // wrote the slice, a drop-in per daemon and its record.
        #expect(report.plan.changes.map(\.module) == ["disk", "boot"] + Array(repeating: "slice", count: 12))
        #expect(report.plan.changes[1].path == "/boot/efi/EFI/xenserver/grub.cfg")
        #expect(try root.readText("/etc/systemd/system/xapi.service.d/50-dom0kit-slice.conf")?.contains("Slice=control.slice") == true)
        let grub = try #require(try root.readText("/boot/efi/EFI/xenserver/grub.cfg"))
        #expect(grub.ranges(of: "xen-pciback.hide=(0000:01:00.0)(0000:01:00.1)(0000:04:00.0)").count == 2)
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
