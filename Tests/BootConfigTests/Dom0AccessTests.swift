@testable import BootConfig
import Dom0Core
import PCIDevices
import Testing
import FakeHost
import TestSupport

@Suite("dom0's access to hidden devices, in XAPI's four words")
struct Dom0AccessTests {
    /// XAPI's table (xen-api's "PCI passthrough support" design): configured (xen-cmdline) against
    /// running (/proc/cmdline).
    @Test(arguments: [
        (false, false, Dom0Access.enabled), (true, false, .disableOnReboot), (true, true, .disabled), (false, true, .enableOnReboot),
    ])
    func theFourStates(configured: Bool, running: Bool, state: Dom0Access) {
        #expect(Dom0Access(configured: configured, running: running) == state)
    }

    @Test func theWordsAreXAPIs() {
        #expect(Dom0Access.allCases.map(\.rawValue) == ["enabled", "disable_on_reboot", "disabled", "enable_on_reboot"])
    }

    @Test func eachEntryOfEitherListGetsItsState() {
        let devices = DeviceAccess.of(configured: "(0000:04:00.0)(0000:05:00.0)", running: "(0000:05:00.0)(06:00.0)")
        #expect(devices == [DeviceAccess(device: "0000:04:00.0", dom0Access: .disableOnReboot),
                            DeviceAccess(device: "0000:05:00.0", dom0Access: .disabled),
                            DeviceAccess(device: "0000:06:00.0", dom0Access: .enableOnReboot)])
    }

    @Test(arguments: [
        ("(0000:04:00.0)(0000:00:19.0)", [String]()),
        ("(04:00.0)(0000:00:19.0)", ["(04:00.0)"]),
        ("(0000:04:00.*)", ["(0000:04:00.*)"]),
        ("(0000:4:00.0)", ["(0000:4:00.0)"]),
        ("(0000:04:00.0", ["(0000:04:00.0"]),
        ("(0000:0A:00.0)", [String]()),
    ])
    func xapiReadsOnlyFullEntries(value: String, unreadable: [String]) {
        #expect(HideList.entriesXAPICannotRead(value) == unreadable)
    }

    @Test(arguments: ["(04:00.0)", "(0000:04:00.0)(05:00.1)", "(0000:0A:00.0)"])
    func whatDom0KitWritesXAPIReads(value: String) throws {
        #expect(HideList.entriesXAPICannotRead(try HideList(parsing: value).description).isEmpty)
    }

    /// The demo host (XCP-ng 8.3 grub.cfg) booted with two of its three hidden devices.
    @Test func bootStatusAndThePlanSayWhatXAPIWould() async throws {
        let test = try TestHost()
        // Hidden by hand, as older docs show it: (04:00.0), which XAPI cannot read.
        let grub = try Fixtures.text("boot/xcpng-8.3-uefi.grub.cfg").replacing(
            "plymouth.ignore-serial-consoles\n", with: "plymouth.ignore-serial-consoles xen-pciback.hide=(04:00.0)(0000:05:00.0)\n")
        try test.host.write("/boot/efi/EFI/xenserver/grub.cfg", grub)
        let editor = BootEditor(root: test.root)
        try test.host.setKernelCommandLine("root=LABEL=root quiet xen-pciback.hide=(0000:05:00.0)(0000:06:00.0)")
        let status = try await BootStatus.read(editor, xen: XenFacts(info: nil, dmesg: nil))
        #expect(status.devices.map { "\($0.device) \($0.dom0Access.rawValue)" }
                == ["0000:04:00.0 disable_on_reboot", "0000:05:00.0 disabled", "0000:06:00.0 enable_on_reboot"])
        #expect(status.xapiCannotRead == ["(04:00.0)"])
        try test.host.setKernelCommandLine("quiet \u{1}")
        #expect(try await BootStatus.read(editor, xen: XenFacts(info: nil, dmesg: nil)).devices.isEmpty,
                "without the running line, no state is a guess")
        try test.host.setKernelCommandLine("root=LABEL=root quiet xen-pciback.hide=(0000:05:00.0)(0000:06:00.0)")
        var hide = HideList()
        hide.add(try HideList.slot("0000:06:00.0"))
        hide.add(try HideList.slot("0000:07:00.0"))
        #expect(try await editor.dom0AccessChanges(adding: hide)
                == ["0000:06:00.0: dom0 access enable_on_reboot → disabled", "0000:07:00.0: dom0 access enabled → disable_on_reboot"])
        // The next edit of the list writes it in full, the diff showing it.
        let edit = try await editor.plan([.set(.dom0, "xen-pciback.hide=(04:00.0)(05:00.0)")])
        #expect(edit.plan.changes.first?.diff?.contains("xen-pciback.hide=(0000:04:00.0)(0000:05:00.0)") == true)
    }

    /// A combining mark after the `=` makes one Character of "=\u{362}", but the kernel splits at
    /// the `=` byte: the value is checked as a hide list, and a set replaces the existing one.
    @Test func aCombiningMarkAfterTheEqualsSignHidesNoKey() async throws {
        #expect(throws: Dom0Error.self) { try BootSetting(parsing: "xen-pciback.hide=\u{362}(0000:04:00.0)", on: .dom0) }
        var arguments = BootArguments(parsing: "quiet xen-pciback.hide=(0000:04:00.0)")
        arguments.set("xen-pciback.hide=\u{362}x")
        #expect(arguments.values(of: HideList.key).count == 1)
        #expect(BootArguments.split("a=\u{362}b").key == "a")
    }

    /// A pattern is written as the functions it covers on this host's bus: XAPI reads no patterns.
    @Test func aPatternIsWrittenAsTheFunctionsItCovers() async throws {
        let host = try XenServerHost("xcpng-8.3-uefi.grub.cfg")
        for function in ["0000:0a:00.1", "0000:0a:00.0", "0000:0b:00.0"] {
            try host.test.host.add(FakePCIDevice(BDF(function)!, vendor: 0x8086, device: 0x1521, classCode: 0x020000))
        }
        try await host.run([.set(.dom0, "xen-pciback.hide=(0000:0a:00.*)(0000:0c:00.0)")])
        #expect(try await host.editor.configured(.dom0).value(of: HideList.key) == "(0000:0a:00.0)(0000:0a:00.1)(0000:0c:00.0)",
                "in address order; a full entry is kept whether present or not")
        await #expect { try await host.run([.set(.dom0, "xen-pciback.hide=(0000:0d:*.*)")]) } throws: { error in
            (error as? Dom0Error)?.what == "0000:0d:*.* covers no PCI function on this host"
        }
    }

    /// xen-cmdline --set-dom0 writes a hide list in the form XAPI reads, whatever form it is given in.
    @Test func xenCmdlineWritesHideListsInFull() async throws {
        let host = try XenServerHost("xcpng-8.3-uefi.grub.cfg")
        try await host.run([.set(.dom0, "xen-pciback.hide=(04:00.0)(0000:0A:00.1)")])
        #expect(try await host.editor.configured(.dom0).value(of: HideList.key) == "(0000:04:00.0)(0000:0a:00.1)")
    }
}
