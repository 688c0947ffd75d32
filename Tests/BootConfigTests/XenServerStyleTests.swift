@testable import BootConfig
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// A fake host holding one XCP-ng grub.cfg fixture where XCP-ng keeps it.
struct XenServerHost {
    let test: TestHost
    let path: FilePath
    let original: String

    init(_ fixture: String) throws {
        test = try TestHost()
        path = fixture.contains("uefi") ? "/boot/efi/EFI/xenserver/grub.cfg" : "/boot/grub/grub.cfg"
        original = try Fixtures.text("boot/\(fixture)")
        try test.host.write(path, original)
    }

    var editor: BootEditor { BootEditor(root: test.root) }
    var text: String { get throws { try test.root.readText(path) ?? "" } }

    /// Plans and applies the edits; returns what the gets read.
    @discardableResult
    func run(_ edits: [BootEdit], editor: BootEditor? = nil) async throws -> BootEditReport {
        let report = try await (editor ?? self.editor).plan(edits)
        let applied = await report.plan.apply(ApplyContext(root: test.root))
        if let error = applied.error { throw error }
        return report
    }

    /// The indices of lines that differ from the original.
    func changedLines() throws -> [Int] {
        let before = original.split(separator: "\n", omittingEmptySubsequences: false)
        let after = try text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(before.count == after.count)
        return before.indices.filter { before[$0] != after[$0] }
    }
}

@Suite("xen-cmdline on XenServer grub.cfg")
struct XenServerStyleTests {
    static let fixtures = ["xcpng-8.2-bios.grub.cfg", "xcpng-8.2-uefi.grub.cfg", "xcpng-8.3-bios.grub.cfg", "xcpng-8.3-uefi.grub.cfg"]

    @Test(arguments: fixtures)
    func getsReadTheDefaultEntry(fixture: String) async throws {
        let host = try XenServerHost(fixture)
        let report = try await host.editor.plan([.get(.dom0, "console"), .get(.xen, "dom0_mem"), .get(.xen, "absent")])
        #expect(report.values.map(\.tokens) == [["console=hvc0", "console=tty0"], [fixture.contains("8.2") ? "dom0_mem=4304M,max:4304M" : "dom0_mem=8192M,max:8192M"], []])
        #expect(report.plan.isEmpty)
    }

    @Test(arguments: fixtures)
    func setsChangeTheProductAndSerialEntriesAndNothingElse(fixture: String) async throws {
        let host = try XenServerHost(fixture)
        try await host.run([.set(.dom0, "xen-pciback.hide=(0000:04:01.0)"), .set(.xen, "dom0_mem=2048M,max:2048M")])
        let text = try host.text
        let grub = XenServerGrub(text)
        let byTitle = Dictionary(uniqueKeysWithValues: grub.entries.map { ($0.title, $0) })
        for title in ["XCP-ng", "XCP-ng (Serial)"] {
            let entry = try #require(byTitle[title])
            #expect(try grub.arguments(.dom0, of: entry, in: "grub.cfg").tokens.last == "xen-pciback.hide=(0000:04:01.0)")
            #expect(try grub.arguments(.xen, of: entry, in: "grub.cfg").values(of: "dom0_mem") == ["dom0_mem=2048M,max:2048M"])
        }
        for entry in grub.entries where !["XCP-ng", "XCP-ng (Serial)"].contains(entry.title) {
            #expect(try grub.arguments(.dom0, of: entry, in: "grub.cfg").values(of: "xen-pciback.hide").isEmpty, "\(entry.title) must not change")
        }
        // Four lines: the multiboot2 and module2 lines of two entries; every other byte is the same.
        #expect(try host.changedLines().count == 4)
    }

    @Test func operationsRunInTheOrderGiven() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let report = try await host.run([
            .set(.xen, "loglvl=all"), .get(.xen, "loglvl"), .delete(.xen, "loglvl"), .get(.xen, "loglvl"),
            .set(.xen, "loglvl=warning"),
        ])
        #expect(report.values.map(\.tokens) == [["loglvl=all"], []])
        #expect(try await host.editor.plan([.get(.xen, "loglvl")]).values.first?.tokens == ["loglvl=warning"])
    }

    @Test func severalKeysInOneDeleteOrSetDoNotDuplicate() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        try await host.run([.delete(.dom0, "quiet"), .delete(.dom0, "splash"), .set(.dom0, "a=1"), .set(.dom0, "b=2"),
                            .set(.dom0, "a=3")])
        let dom0 = try await host.editor.configured(.dom0)
        #expect(dom0.values(of: "quiet").isEmpty && dom0.values(of: "splash").isEmpty)
        #expect(dom0.tokens.suffix(2) == ["b=2", "a=3"])
    }

    @Test func aQuotedValueWithSpacesSurvives() async throws {
        let host = try XenServerHost("xcpng-8.3-uefi.grub.cfg")
        let argument = "dyndbg=\"file drivers/xen/* +p\""
        try await host.run([.set(.dom0, argument)])
        #expect(try await host.editor.plan([.get(.dom0, "dyndbg")]).values.first?.tokens == [argument])
        #expect(try host.text.contains("plymouth.ignore-serial-consoles \(argument)\n"))
        try await host.run([.set(.dom0, "after=1")])
        #expect(try await host.editor.configured(.dom0).values(of: "dyndbg") == [argument])
    }

    @Test func theSecondIdenticalCallWritesNothing() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let edits: [BootEdit] = [try .set(.dom0, "xen-pciback.hide=(0000:04:01.0)"), .delete(.xen, "watchdog")]
        try await host.run(edits)
        let inode = try #require(try FileSystem.status(host.test.root.resolve(host.path))).st_ino
        #expect(try await host.editor.plan(edits).plan.isEmpty)
        try await host.run(edits)
        #expect(try FileSystem.status(host.test.root.resolve(host.path))?.st_ino == inode, "not even rewritten")
    }

    @Test func entriesCanBeChosenByTitle() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let safe = BootEditor(root: host.test.root, entries: ["XCP-ng in Safe Mode"])
        try await host.run([.set(.xen, "loglvl=all")], editor: safe)
        let grub = XenServerGrub(try host.text)
        let changed = grub.entries.filter { (try? grub.arguments(.xen, of: $0, in: "grub.cfg"))?.values(of: "loglvl").isEmpty == false }.map(\.title)
        #expect(changed == ["XCP-ng in Safe Mode"])

        let missing = BootEditor(root: host.test.root, entries: ["XenServer"])
        let error = try await #require(throws: Dom0Error.self) { try await missing.plan([.set(.xen, "x")]) }
        #expect(error.what == "no menu entry titled 'XenServer'")
        #expect(error.fix?.contains("'XCP-ng (Serial)'") == true)
    }

    @Test func theProductEntryIsTheFirstWithoutAnExcludedMarker() {
        let grub = XenServerGrub("""
            menuentry 'XenServer (Serial)' {
            \tmultiboot2 /boot/xen.gz a
            }
            menuentry 'XenServer upgrade' {
            \tmultiboot2 /boot/xen.gz b
            }
            menuentry "XenServer" --class xen {
            \tmultiboot2 /boot/xen.gz c
            \tmodule2 /boot/vmlinuz d
            }

            """)
        #expect(grub.productEntry?.title == "XenServer")
        #expect(grub.defaultEntry?.title == "XenServer", "no set default: the product entry")
    }

    @Test func setDefaultByTitleOrIndexChoosesWhatGetsRead() {
        let entries = "menuentry 'A' {\n\tmultiboot2 /x a=1\n}\nmenuentry 'B' {\n\tmultiboot2 /x a=2\n}\n"
        #expect(XenServerGrub("set default=1\n" + entries).defaultEntry?.title == "B")
        #expect(XenServerGrub("set default='B'\n" + entries).defaultEntry?.title == "B")
        #expect(XenServerGrub("set default=\"${saved_entry}\"\n" + entries).defaultEntry?.title == "A")
    }

    @Test func withoutAProductEntryNothingIsWritten() async throws {
        let test = try TestHost()
        let text = "menuentry 'XCP-ng (Serial)' {\n\tmultiboot2 /boot/xen.gz a\n}\nmenuentry 'XCP-ng in Safe Mode' {\n\tmultiboot2 /boot/xen.gz b\n}\n"
        try test.host.write("/boot/grub/grub.cfg", text)
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.set(.xen, "x")]) }
        #expect(error.what == "no product entry")
        #expect(try test.root.readText("/boot/grub/grub.cfg") == text)
    }

    /// A grub.cfg with CRLF line endings reads as lines, and an edited line keeps its CRLF.
    @Test func crlfLineEndingsAreReadAndKept() async throws {
        let test = try TestHost()
        let crlf = "set default=0\r\nmenuentry 'XCP-ng' {\r\n\tmultiboot2 /boot/xen.gz dom0_mem=1G\r\n\tmodule2 /boot/vmlinuz ro\r\n}\r\n"
        try test.host.write("/boot/grub/grub.cfg", crlf)
        let report = try await BootEditor(root: test.root).plan([.get(.xen, "dom0_mem"), .set(.dom0, "quiet")])
        #expect(report.values.first?.tokens == ["dom0_mem=1G"])
        _ = await report.plan.apply(ApplyContext(root: test.root))
        #expect(try test.root.readText("/boot/grub/grub.cfg") == crlf.replacing("vmlinuz ro\r\n", with: "vmlinuz ro quiet\r\n"))
    }

    /// A grub.cfg link to nothing is a broken XenServer host: never quietly edited as a Debian one.
    @Test func aDanglingGrubCfgLinkIsAnErrorNotDebianStyle() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"\"\n")
        try FileSystem.createDirectories(test.root.resolve("/boot/grub"))
        try FileSystem.symlink("grub-gone.cfg", at: test.root.resolve("/boot/grub/grub.cfg", followFinalLink: false))
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.set(.xen, "x=1")]) }
        #expect(error.status == .failed)
        #expect(error.what == "the boot configuration is a link to nothing")
        #expect(error.location == "/boot/grub/grub.cfg")
        // What is missing is the target under the root, not the host's own file of that name.
        #expect(error.why == "it points to grub-gone.cfg, which under the root is \(test.root.path)/boot/grub/grub-gone.cfg and does not exist")
        #expect(try test.root.readText("/etc/default/grub") == "GRUB_CMDLINE_XEN_DEFAULT=\"\"\n")
    }

    /// The same for the directory: a XenServer host whose /boot/grub was replaced by a link
    /// leading out of the root (found by the second hardening round: it was edited as Debian
    /// style, exit 0, and --get-xen then read the stale value).
    @Test(arguments: [("an absolute link to a place missing under the root", "/var/lib/elsewhere/grub", Dom0Core.ExitStatus.failed),
                      ("a relative link climbing out of the root", "../../../../../../../../../../../../../../tmp", .refused)])
    func aMovedBootDirectoryIsAnErrorNotDebianStyle(case: String, target: String, status: Dom0Core.ExitStatus) async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"\"\n")
        try FileSystem.createDirectories(test.root.resolve("/boot"))
        try FileSystem.symlink(FilePath(target), at: test.root.resolve("/boot/grub", followFinalLink: false))
        for edits in [[try BootEdit.set(.xen, "x=1")], [.get(.xen, "x")]] {
            let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan(edits) }
            #expect(error.status == status, "\(error)")
            #expect(error.location == "/boot/grub" || error.location == "/boot/grub/grub.cfg", "\(error)")
        }
        #expect(try test.root.readText("/etc/default/grub") == "GRUB_CMDLINE_XEN_DEFAULT=\"\"\n")
    }

    @Test func withoutAnyBootConfigurationTheErrorSaysWhereItLooked() async throws {
        let test = try TestHost()
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.get(.xen, "x")]) }
        #expect(error.status == .failed, "the host lacks a configuration; the command was right")
        #expect(error.why?.contains("/boot/efi/EFI/xenserver/grub.cfg") == true)
        #expect(error.why?.contains("/etc/default/grub") == true)
    }

    @Test func aMalformedAddressIsRefusedAndTheFileUnchanged() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let error = try await #require(throws: Dom0Error.self) {
            try await host.editor.plan([.set(.dom0, "xen-pciback.hide=(0000:04:01.0)(0000.02:00.3)")])
        }
        #expect(error.location == "\"0000.02:00.3\"", "quoted, as text from outside is")
        #expect(try host.text == host.original)
        // --force writes what it is given.
        try await host.run([.set(.dom0, "xen-pciback.hide=(0000.02:00.3)", force: true)])
        #expect(try host.text.contains("xen-pciback.hide=(0000.02:00.3)"))
    }

    @Test func emptyKeysAreUsageErrors() async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let error = try #require(throws: Dom0Error.self) { try BootEdit.set(.xen, "=1") }
        #expect(error.status == .usage)
        for edit: BootEdit in [.delete(.dom0, ""), .get(.xen, "")] {
            let error = try await #require(throws: Dom0Error.self) { try await host.editor.plan([edit]) }
            #expect(error.status == .usage)
        }
    }

    @Test func anUnreadableConfigIsAnErrorNamingIt() async throws {
        let test = try TestHost()
        try FileSystem.createDirectories(test.root.resolve("/boot/grub/grub.cfg"))
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.get(.xen, "x")]) }
        #expect(error.location?.hasSuffix("/boot/grub/grub.cfg") == true)
    }

    @Test func grubScriptCheckMustAcceptTheResult() async throws {
        let test = try TestHost()
        // Already broken: the `if` never ends. grub-script-check rejects the edited file, so nothing is written.
        let broken = try Fixtures.text("boot/xcpng-8.2-bios.grub.cfg").replacing("\tload_env\nfi\n", with: "\tload_env\n")
        try test.host.write("/boot/grub/grub.cfg", broken)
        let error = try await #require(throws: Dom0Error.self) {
            try await BootEditor(root: test.root).plan([.set(.xen, "loglvl=all")])
        }
        #expect(error.status == .refused)
        #expect(error.what.contains("grub-script-check"))
        #expect(try test.root.readText("/boot/grub/grub.cfg") == broken)
    }

    /// The defect of the second hardening round: an apostrophe written raw on the product entry
    /// and its (Serial) twin pairs up across `}` and the next menuentry, so grub-script-check
    /// passes a file GRUB no longer reads as written. Quotes are refused before anything is planned.
    @Test(arguments: ["it's", "a=\\", "root=$root", "#comment", "x='a b'"])
    func quotingGrubWouldReadDifferentlyIsRefused(argument: String) async throws {
        let host = try XenServerHost("xcpng-8.2-bios.grub.cfg")
        let error = try await #require(throws: Dom0Error.self) { try await host.run([.set(.dom0, argument)]) }
        #expect(error.status == .usage)
        #expect(try host.text == host.original)
    }

    /// A line GRUB reads inside a quote an earlier line leaves open is not what it seems: editing
    /// it would write arguments into a string. The same for a line whose kept words carry GRUB
    /// quoting, which the rewrite would not keep.
    @Test(arguments: [
        ("a quote opened on a line before", "echo 'start\nmenuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz dom0_mem=1G\n\tmodule2 /boot/vmlinuz ro\n}\necho end'\n",
         "inside a quote"),
        ("a backslash continuing the line before", "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz dom0_mem=1G \\\n\tmodule2 /boot/vmlinuz ro\n}\n",
         "backslash continuation"),
        ("an apostrophe on the line itself", "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz dom0_mem=1G\n\tmodule2 /boot/vmlinuz note=it's\n}\n"
         + "menuentry 'XCP-ng (Serial)' {\n\tmultiboot2 /boot/xen.gz dom0_mem=1G\n\tmodule2 /boot/vmlinuz x=it's\n}\n", "a single quote"),
        ("a comment on the line itself", "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz dom0_mem=1G\n\tmodule2 /boot/vmlinuz ro #old\n}\n",
         "GRUB comment"),
    ])
    func aLineGrubReadsDifferentlyIsNotEdited(case: String, entries: String, says: String) async throws {
        let test = try TestHost()
        let text = "set default=0\n" + entries
        try test.host.write("/boot/grub/grub.cfg", text)
        let error = try await #require(throws: Dom0Error.self) {
            try await BootEditor(root: test.root).plan([.set(.dom0, "quiet")])
        }
        #expect(error.status == .refused)
        #expect(error.what.contains("refusing to edit line"), "\(error)")
        #expect(error.why?.contains(says) == true, "\(error)")
        #expect(try test.root.readText("/boot/grub/grub.cfg") == text)
    }

    /// Where GRUB's reader starts each line: the rule the editor's refusals above rest on.
    @Test func grubStartsACommandOnlyOutsideQuotesAndContinuations() {
        let lines = ["a 'x\n", "y' b\n", "c \"d\n", "e\" \\\n", "f\n", "# it's a comment\n", "g 'h' \"i\" j#'k\n", "l\n"]
        #expect(XenServerGrub.commandStarts(lines) == [true, false, true, false, false, true, true, false])
    }

    @Test func aGeneratedGrubCfgIsNotTakenForAXenServerOne() async throws {
        let test = try TestHost()
        try test.host.write("/boot/grub/grub.cfg", "#\n# DO NOT EDIT THIS FILE\n#\n### BEGIN /etc/grub.d/00_header ###\n")
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n")
        let report = try await BootEditor(root: test.root).plan([.get(.xen, "dom0_mem")])
        #expect(report.style == .debian)
        #expect(report.values.first?.tokens == ["dom0_mem=1G"])
    }
}
