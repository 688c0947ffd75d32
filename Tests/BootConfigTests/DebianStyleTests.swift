@testable import BootConfig
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// A fake Debian or Ubuntu host: /etc/default/grub and optional grub.d drop-ins from fixtures.
struct DebianHost {
    let test: TestHost
    let original: String

    init(_ fixture: String, dropIns: [String] = []) throws {
        test = try TestHost()
        original = try Fixtures.text("boot/\(fixture)")
        try test.host.write("/etc/default/grub", original)
        for dropIn in dropIns {
            try test.host.write(FilePath("/etc/default/grub.d/\(dropIn)"), try Fixtures.text("boot/ubuntu-grub.d/\(dropIn)"))
        }
    }

    func editor(_ style: BootStyle = .auto) -> BootEditor { BootEditor(root: test.root, style: style) }

    func text(_ path: FilePath = "/etc/default/grub") throws -> String? { try test.root.readText(path) }

    @discardableResult
    func run(_ edits: [BootEdit], style: BootStyle = .auto) async throws -> BootEditReport {
        let report = try await editor(style).plan(edits)
        let applied = await report.plan.apply(ApplyContext(root: test.root))
        if let error = applied.error { throw error }
        return report
    }

    /// What the real shell makes of the files, sourced as grub-mkconfig sources them.
    func shell(_ variable: String) async throws -> String {
        let script = ". ./etc/default/grub; for f in ./etc/default/grub.d/*.cfg; do [ -e \"$f\" ] && . \"$f\"; done; printf %s \"$\(variable)\""
        let result = try await CommandRunner().run(["sh", "-c", "cd \(test.root.path) && \(script)"], effect: .readOnly)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }
}

@Suite("xen-cmdline on Debian's /etc/default/grub")
struct DebianStyleTests {
    @Test(arguments: ["GRUB_CMDLINE_XEN_DEFAULT", "GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_CMDLINE_XEN", "GRUB_TIMEOUT"])
    func valuesReadAsTheShellReadsThem(variable: String) async throws {
        let host = try DebianHost("debian-12.default-grub")
        // The reader agrees with sh, quotes, escapes and continuations included.
        #expect(try DebianGrub(root: host.test.root, including: nil).effective(variable) == (try await host.shell(variable)))
    }

    @Test func theLastAssignmentWinsAndContinuationsJoin() async throws {
        let host = try DebianHost("debian-12.default-grub")
        let dom0 = try await host.editor().configured(.dom0)
        #expect(dom0.tokens == ["quiet", "\"splash\"", "apparmor=1", "security=apparmor", "mitigations=auto"])
        let xen = try await host.editor().configured(.xen)
        #expect(xen.tokens == ["dom0_mem=4096M,max:4096M", "loglvl=all", "guest_loglvl=all"])
    }

    @Test func aSetRewritesOnlyThatAssignment() async throws {
        let host = try DebianHost("debian-12.default-grub")
        try await host.run([.set(.xen, "dom0_mem=2048M,max:2048M")])
        let text = try #require(try host.text())
        // The single-quoted assignment stays single-quoted; nothing else moves.
        let expected = host.original.replacing(
            "GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=4096M,max:4096M loglvl=all guest_loglvl=all'",
            with: "GRUB_CMDLINE_XEN_DEFAULT='loglvl=all guest_loglvl=all dom0_mem=2048M,max:2048M'")
        #expect(text == expected)
        #expect(try await host.shell("GRUB_CMDLINE_XEN_DEFAULT") == "loglvl=all guest_loglvl=all dom0_mem=2048M,max:2048M")
    }

    @Test func theLastOfTwoAssignmentsIsTheOneEdited() async throws {
        let host = try DebianHost("debian-12.default-grub")
        try await host.run([.set(.dom0, "xen-pciback.hide=(0000:04:00.0)")])
        let text = try #require(try host.text())
        #expect(text.contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"), "the first assignment stays")
        #expect(try await host.shell("GRUB_CMDLINE_LINUX_DEFAULT")
                == "quiet \"splash\" apparmor=1 security=apparmor mitigations=auto xen-pciback.hide=(0000:04:00.0)")
    }

    @Test func aMissingVariableIsAdded() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub")
        try await host.run([.set(.xen, "dom0_mem=1G")])
        let text = try #require(try host.text())
        #expect(text == host.original + "GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n")
    }

    @Test func theXenReplaceVariableCarriesDom0sArgumentsWhenSet() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT=\"console=hvc0\"\n")
        let report = try await BootEditor(root: test.root).plan([.set(.dom0, "earlyprintk=xen")])
        _ = await report.plan.apply(ApplyContext(root: test.root))
        #expect(try test.root.readText("/etc/default/grub")
                == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT=\"console=hvc0 earlyprintk=xen\"\n")
    }

    @Test func getsReadTheDropInsInSourcingOrder() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub", dropIns: ["50-cloudimg-settings.cfg", "60-xen.cfg"])
        let report = try await host.editor().plan([.get(.dom0, "console"), .get(.dom0, "nomodeset"), .get(.xen, "dom0_mem")])
        #expect(report.values.map(\.tokens) == [["console=tty1", "console=ttyS0"], ["nomodeset"], ["dom0_mem=2G,max:2G"]])
        #expect(try await host.shell("GRUB_CMDLINE_LINUX_DEFAULT") == "console=tty1 console=ttyS0 nomodeset")
    }

    @Test func anEditADropInWouldOverrideIsRefused() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub", dropIns: ["50-cloudimg-settings.cfg", "60-xen.cfg"])
        let error = try await #require(throws: Dom0Error.self) { try await host.run([.set(.xen, "dom0_mem=4G")]) }
        #expect(error.status == .refused)
        #expect(error.location?.hasSuffix("/etc/default/grub.d/60-xen.cfg:2") == true)
        #expect(error.fix?.contains("--style debian-dropin") == true)
        #expect(try host.text() == host.original)
    }

    @Test func theDropInStylePinsTheWholeValueInDom0KitsFile() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub", dropIns: ["50-cloudimg-settings.cfg", "60-xen.cfg"])
        try await host.run([.set(.xen, "dom0_mem=4G,max:4G"), .set(.dom0, "xen-pciback.hide=(0000:04:00.0)")], style: .debianDropin)
        #expect(try host.text() == host.original, "/etc/default/grub is untouched")
        let dropIn = try #require(try host.text("/etc/default/grub.d/dom0kit.cfg"))
        #expect(dropIn.hasPrefix("# Written by Dom0Kit"))
        #expect(try await host.shell("GRUB_CMDLINE_XEN_DEFAULT") == "dom0_mem=4G,max:4G")
        #expect(try await host.shell("GRUB_CMDLINE_LINUX_DEFAULT") == "console=tty1 console=ttyS0 nomodeset xen-pciback.hide=(0000:04:00.0)")
        // Again: nothing to do.
        #expect(try await host.editor(.debianDropin).plan([.set(.xen, "dom0_mem=4G,max:4G")]).plan.isEmpty)
    }

    @Test func aQuotedValueIsEscapedForTheShell() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub")
        let argument = "dyndbg=\"file drivers/xen/* +p\""
        try await host.run([.set(.dom0, argument)])
        #expect(try await host.shell("GRUB_CMDLINE_LINUX_DEFAULT") == "quiet splash \(argument)")
        #expect(try await host.editor().configured(.dom0).values(of: "dyndbg") == [argument])
    }

    @Test func underARootTheRegenerationIsLeftToTheOperator() async throws {
        let host = try DebianHost("ubuntu-22.04.default-grub")
        let report = try await host.editor().plan([.set(.xen, "dom0_mem=1G")])
        #expect(report.plan.changes.allSatisfy { $0.kind != "runTool" })
        #expect(!report.regenerateInPlan)
        #expect(report.regenerate == ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"] || report.regenerate == ["update-grub"])
        let skipped = try await BootEditor(root: host.test.root, regenerate: false).plan([.set(.xen, "dom0_mem=1G")])
        #expect(skipped.regenerate == nil)
    }

    @Test func aValueComputedByACommandIsNotRewritten() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"$(cat /etc/xen-args)\"\n")
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.set(.xen, "a=1")]) }
        #expect(error.location?.hasSuffix("/etc/default/grub:1") == true)
    }

    /// `&&`, `||`, `|` and `&` once sent the reader round in circles; an assignment after one may
    /// or may not happen, so its variable is unknown, and everything around it reads as sh reads it.
    @Test(.timeLimit(.minutes(1)))
    func commandListsEndAndMakeTheirAssignmentsUnknown() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", """
            GRUB_TIMEOUT=5 && true
            [ -f /etc/dom0kit-none ] && GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=1G"
            true || GRUB_CMDLINE_LINUX_DEFAULT="never"
            echo "a|b" | cat >/dev/null
            sleep 0 &
            GRUB_DISTRIBUTOR="after"

            """)
        let grub = try DebianGrub(root: test.root, including: nil)
        #expect(try grub.effective("GRUB_TIMEOUT") == "5")
        #expect(try grub.effective("GRUB_DISTRIBUTOR") == "after")
        let unknown = try #require(throws: Dom0Error.self) { try grub.effective("GRUB_CMDLINE_XEN_DEFAULT") }
        #expect(unknown.location?.hasSuffix("/etc/default/grub:2") == true)
        #expect(unknown.why?.contains("after &&") == true)
        let before = try test.root.read("/etc/default/grub")
        let refused = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.set(.dom0, "quiet")]) }
        #expect(refused.status == .refused)
        #expect(refused.location?.hasSuffix("/etc/default/grub:3") == true)
        #expect(try test.root.read("/etc/default/grub") == before)
    }

    @Test func invalidUTF8InADebianFileIsKeptAndAReadWritesNothing() async throws {
        let test = try TestHost()
        let bytes: [UInt8] = Array("# r".utf8) + [0xE9, 0xFF] + Array("sum\nGRUB_CMDLINE_XEN_DEFAULT=\"a=1\"\n".utf8)
        try test.host.write("/etc/default/grub", "")
        try AtomicWriter.write(bytes, to: "/etc/default/grub", in: test.root)
        let editor = BootEditor(root: test.root, regenerate: false)
        let get = try await editor.plan([.get(.xen, "a")])
        #expect(get.values.first?.tokens == ["a=1"])
        #expect(get.plan.isEmpty, "a read plans no write")
        let set = try await editor.plan([.set(.xen, "b=2")])
        _ = await set.plan.apply(ApplyContext(root: test.root))
        #expect(try test.root.read("/etc/default/grub") == Array(bytes.prefix(9)) + Array("GRUB_CMDLINE_XEN_DEFAULT=\"a=1 b=2\"\n".utf8))
    }

    @Test func anUnterminatedQuoteNamesTheFileAndLine() async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n")
        let error = try await #require(throws: Dom0Error.self) { try await BootEditor(root: test.root).plan([.get(.dom0, "quiet")]) }
        #expect(error.location == "/etc/default/grub:2")
        #expect(error.what == "unterminated double quote")
    }
}

@Suite("The shell reader agrees with sh")
struct ShellAgreementTests {
    static let script = #"""
        A='single $HOME \
        literal'
        B="double \"q\" \$x \\ back\
        slash"
        C=plain\ escaped\"x
        D="$B-and-${A}-$UNSET-"
        export F="exported"
        G=1 H=2; I='semi'
        # J="commented out"
        if [ -z "$K" ]; then K="in an if"; fi
        L=$G$H"mixed"'quotes'
        """#

    @Test(arguments: ["A", "B", "C", "D", "F", "G", "H", "I", "L"])
    func everyQuotingFormReadsAsShReadsIt(variable: String) async throws {
        let test = try TestHost()
        try test.host.write("/etc/default/grub", Self.script + "\n")
        let result = try await CommandRunner().run(
            ["sh", "-c", ". \(test.root.path)/etc/default/grub; printf %s \"$\(variable)\""], effect: .readOnly)
        #expect(try DebianGrub(root: test.root, including: nil).effective(variable) == result.stdout)
    }
}
