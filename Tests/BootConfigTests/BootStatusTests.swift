import BootConfig
import Dom0Core
import PCIDevices
import Testing
import TestSupport

@Suite("Boot status: configured against running")
struct BootStatusTests {
    @Test func aConfiguredButNotRunningArgumentNeedsAReboot() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let configured = try await host.editor.configured(.dom0)
        try host.test.host.setKernelCommandLine("BOOT_IMAGE=/boot/vmlinuz-4.19-xen " + configured.description)
        var status = try await BootStatus.read(host.editor)
        let dom0 = try #require(status.lines.first { $0.line == .dom0 })
        #expect(dom0.pending.isEmpty && dom0.stale.isEmpty, "BOOT_IMAGE is not an argument")
        #expect(status.lines.first { $0.line == .xen }?.running == nil, "no Xen to ask under --root")
        #expect(status.rebootNeeded == nil)

        try await host.run([.set(.dom0, "xen-pciback.hide=(0000:04:00.0)")])
        status = try await BootStatus.read(host.editor)
        #expect(status.lines.first { $0.line == .dom0 }?.pending == ["xen-pciback.hide=(0000:04:00.0)"])
        #expect(status.rebootNeeded == true)
    }

    /// Junk in /proc/cmdline is "cannot read", not a running line whose every argument is new
    /// (the second hardening round found it reported as "reboot needed").
    @Test(arguments: [[0xff, 0xfe, 0x00, 0x41], Array("root=x\u{1b}[2J quiet\n".utf8), Array("a\nb\n".utf8)])
    func anUnreadableRunningCommandLineIsCannotTell(bytes: [UInt8]) async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let path = try host.test.root.resolve("/proc/cmdline")
        try FileSystem.createDirectories(path.removingLastComponent())
        try AtomicWriter.write(bytes, to: path, in: HostRoot("/"))
        let status = try await BootStatus.read(host.editor)
        let dom0 = try #require(status.lines.first { $0.line == .dom0 })
        #expect(dom0.running == nil && dom0.pending.isEmpty && dom0.stale.isEmpty)
        #expect(dom0.source.hasPrefix("cannot read the running command line"), "\(dom0.source)")
        #expect(status.rebootNeeded == nil)
    }

    @Test func aRunningButNoLongerConfiguredKnobIsStale() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let configured = try await host.editor.configured(.dom0)
        try host.test.host.setKernelCommandLine(configured.description + " xen-pciback.hide=(0000:04:00.0)")
        let status = try await BootStatus.read(host.editor)
        #expect(status.lines.first { $0.line == .dom0 }?.stale == ["xen-pciback.hide=(0000:04:00.0)"])
        #expect(status.rebootNeeded == true)
    }
}

@Suite("The typed knobs")
struct BootKnobsTests {
    @Test func hideAddsCanonicallyAndRemovesDownToNothing() async throws {
        let host = try XenServerHost("xcpng-8.3-uefi.grub.cfg")
        try await host.run(try await BootKnobs.hide(add: try HideList(addresses: ["04:00.0", "0000:01:00.0", "04:00.0"]), remove: HideList(), host.editor))
        #expect(try await BootKnobs.hidden(host.editor).description == "(0000:04:00.0)(0000:01:00.0)")
        try await host.run(try await BootKnobs.hide(add: HideList(), remove: try HideList(addresses: ["0000:04:00.0", "01:00.0"]), host.editor))
        #expect(try await host.editor.configured(.dom0).values(of: BootKnob.hide).isEmpty)
        #expect(try host.text == host.original)
    }

    /// VT-d is off in Debian's kernels unless intel_iommu=on; AMD-Vi is on unless amd_iommu=off,
    /// and Linux has no amd_iommu=on: on AMD, enabling removes the off.
    @Test func nativeIOMMUFollowsTheCPUVendor() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try test.host.write("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
        let editor = BootEditor(root: test.root)
        #expect(try BootKnobs.nativeIOMMU(vendor: nil, passthrough: true, editor)
                == [.delete(.dom0, "amd_iommu=off"), try .set(.dom0, "iommu=pt")])
        #expect(try BootKnobs.nativeIOMMU(vendor: "intel", passthrough: false, editor)
                == [try .set(.dom0, "intel_iommu=on"), .delete(.dom0, "iommu")])
    }

    @Test func dom0MemoryWarnsAboveTheHostsMemory() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        try host.test.host.write("/proc/meminfo", "MemTotal:       16318480 kB\nMemFree:         1000000 kB\n")
        let (edits, warnings) = try await BootKnobs.dom0Memory(try Dom0Memory(amount: "32G", maximum: nil), host.editor)
        #expect(try edits == [.set(.xen, "dom0_mem=32G")])
        #expect(warnings == ["dom0_mem 32G is more than the host's 15936 MiB"])
        let (bounded, none) = try await BootKnobs.dom0Memory(try Dom0Memory(amount: "4G", maximum: "8G"), host.editor)
        #expect(try bounded == [.set(.xen, "dom0_mem=4G,max:8G")])
        #expect(none.isEmpty)
        await #expect(throws: Dom0Error.self) { try await BootKnobs.dom0Memory(try Dom0Memory(amount: "8G", maximum: "4G"), host.editor) }
    }

    @Test func vfioIdsAreAddedAndRemoved() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        let editor = BootEditor(root: test.root)
        #expect(try await BootKnobs.vfio(add: try VFIOIDs(["10DE:1C81", "10de:0fb9"]), remove: VFIOIDs(), editor)
                == [.set(.dom0, "vfio-pci.ids=10de:1c81,10de:0fb9")])
        #expect(try await BootKnobs.vfio(add: VFIOIDs(), remove: VFIOIDs(), editor) == [.delete(.dom0, "vfio-pci.ids")])
    }
}
