import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// xen-cmdline and host-prepare boot, the real binary on fake hosts.
@Suite("xen-cmdline, end to end")
struct XenCmdlineEndToEndTests {
    let test: TestHost
    let grub: FilePath = "/boot/grub/grub.cfg"
    let original: String

    init() throws {
        test = try TestHost()
        original = try Fixtures.text("boot/xcpng-8.2-bios.grub.cfg")
        try test.host.write(grub, original)
    }

    private func xenCmdline(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner().run([BuiltProducts.executable("xen-cmdline").string, "--root", test.root.path.string] + arguments)
    }

    private func hostPrepare(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner().run([BuiltProducts.executable("host-prepare").string, "boot"] + arguments
                                      + ["--root", test.root.path.string])
    }

    private var text: String { get throws { try test.root.readText(grub) ?? "" } }

    /// An external tool is looked up once and started once, by its path: one execve of
    /// grub-script-check for one check, not one attempt per PATH directory.
    @Test func grubScriptCheckIsStartedOnceByItsPath() async throws {
        let trace = try TemporaryDirectory()
        let log = trace.appending("execve")
        let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let result = try await CommandRunner(environment: ["PATH": path]).run(
            ["strace", "-f", "-qq", "-e", "trace=execve", "-o", log.string, BuiltProducts.executable("xen-cmdline").string,
             "--root", test.root.path.string, "--set-xen", "dom0_mem=2048M"])
        #expect(result.status == 0, "\(result.stderr)")
        let attempts = try (contents(log) ?? "").split(separator: "\n").filter { $0.contains("grub-script-check\", [") }
        #expect(attempts.count == 1, "\(attempts)")
        #expect(try text.contains("dom0_mem=2048M"))
    }

    /// The candidate is checked on grub-script-check's standard input: a set writes nothing
    /// outside the host root (no scratch copy: it works with no temporary directory at all), and
    /// a candidate it rejects is named by its line as from a file.
    @Test func theCandidateIsCheckedWithoutACopyOnDisk() async throws {
        let scratch = try TemporaryDirectory()
        let missing = scratch.appending("no-such-directory").string
        let runner = CommandRunner(environment: ["TMPDIR": missing, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        let set = try await runner.run([BuiltProducts.executable("xen-cmdline").string, "--root", test.root.path.string,
                                        "--set-xen", "dom0_mem=2048M"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try text.contains("dom0_mem=2048M"))

        try test.host.write(grub, original + "if [ x ]; then\n")
        let rejected = try await runner.run([BuiltProducts.executable("xen-cmdline").string, "--root", test.root.path.string,
                                             "--set-xen", "dom0_mem=4096M"])
        #expect(rejected.status == 2, "\(rejected.stderr)")
        #expect(rejected.stderr.contains("Syntax error at line"), "\(rejected.stderr)")
        #expect(try text == original + "if [ x ]; then\n")
        #expect(try FileSystem.entries(scratch.path).isEmpty)
    }

    /// A host without a boot configuration is the host's failure (1), not a usage error (64): the command was right.
    @Test(arguments: [
        (["xen-cmdline", "--get-dom0", "console"], "no boot configuration found"),
        (["host-prepare", "boot", "status"], "no boot configuration found"),
        (["host-prepare", "boot", "hide", "list"], "no boot configuration found"),
        (["xen-cmdline", "--style", "debian", "--get-xen", "x"], "no /etc/default/grub"),
    ] as [([String], String)])
    func aHostWithoutBootConfigurationFailsSayingWhereItLooked(argv: [String], message: String) async throws {
        let empty = try TestHost()
        let result = try await CommandRunner().run([BuiltProducts.executable(argv[0]).string] + argv.dropFirst()
                                                   + ["--root", empty.root.path.string])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("/etc/default/grub"), "it names where it looked")
    }

    @Test func getPrintsMatchingTokensOnePerLine() async throws {
        let result = try await xenCmdline(["--get-dom0", "console", "root", "--get-xen", "dom0_mem"])
        #expect(result.status == 0)
        #expect(result.stdout == "console=hvc0\nconsole=tty0\nroot=LABEL=root-hgzrsf\ndom0_mem=4304M,max:4304M\n")
    }

    @Test func aChainSetsDeletesAndReadsInOrder() async throws {
        let result = try await xenCmdline(["--set-xen", "loglvl=all", "guest_loglvl=all", "--delete-dom0", "quiet", "splash",
                                           "--get-xen", "loglvl", "--get-dom0", "quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "loglvl=all\n")
        #expect(try text.contains("crashkernel=256M,below=4G console=vga vga=mode-0x0311 loglvl=all guest_loglvl=all\n"))
    }

    /// A value is one argument: a newline, a brace or a blank would write new grub commands or a
    /// second argument. Refused (64) with the file untouched, --force or not.
    @Test(arguments: [["--set-xen", "loglvl=all\n}\nmenuentry 'evil' {\n\tlinux /evil"], ["--set-dom0", "quiet}"],
                      ["--set-dom0", "x=a b"], ["--set-dom0", "a;reboot"], ["--set-xen", "console=\u{1b}[2J"],
                      ["--set-dom0", "x=\"open"], ["--force", "--set-dom0", "quiet\nreboot"], ["--delete-dom0", "quiet\nx"]])
    func aValueThatIsNotOneArgumentIsRefused(arguments: [String]) async throws {
        let result = try await xenCmdline(arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("not one boot argument"), "\(result.stderr)")
        #expect(!result.stderr.contains("\u{1b}"), "a terminal escape is shown escaped, not sent")
        #expect(try text == original)
    }

    /// Files are bytes: with invalid UTF-8 in the file, a get writes nothing and a set changes the
    /// bytes of the lines it edits and no others.
    @Test func invalidUTF8IsKeptByteForByteAndAReadNeverWrites() async throws {
        var bytes = Array(original.utf8)
        let invalid: [UInt8] = Array("# caf".utf8) + [0xE9, 0x20, 0xFF, 0xFE, 0x0A]  // Latin-1 é, then bytes UTF-8 never has
        bytes.insert(contentsOf: invalid, at: 0)
        try AtomicWriter.write(bytes, to: grub, in: test.root)
        let inode = try FileSystem.status(test.root.resolve(grub))?.st_ino
        let get = try await xenCmdline(["--get-dom0", "quiet"])
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.stdout == "quiet\n")
        #expect(try test.root.read(grub) == bytes)
        #expect(try FileSystem.status(test.root.resolve(grub))?.st_ino == inode, "not even rewritten with the same bytes")

        let set = try await xenCmdline(["--set-dom0", "dom0kit=é"])
        #expect(set.status == 0, "\(set.stderr)")
        let after = try #require(try test.root.read(grub))
        #expect(Array(after.prefix(invalid.count)) == invalid, "the invalid line is untouched")
        let lines = { (bytes: [UInt8]) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init) }
        let changed = zip(lines(bytes), lines(after)).filter { $0.0 != $0.1 }
        #expect(changed.count == 2, "the product entry's dom0 line and its serial twin's")
        #expect(changed.allSatisfy { String(decoding: $0.1, as: UTF8.self).hasSuffix(" dom0kit=é") })
    }

    static let xenBootCommands = """
        set default=0
        menuentry 'XenServer' {
        \tsearch --label --set root root-abc
        \txen_hypervisor /boot/xen.gz dom0_mem=2048M,max:2048M console=vga
        \txen_module /boot/vmlinuz-4.19-xen root=LABEL=root-abc ro quiet
        \txen_module /boot/initrd-4.19-xen.img
        }
        menuentry 'XenServer (Serial)' {
        \txen_hypervisor /boot/xen.gz com1=115200,8n1 console=com1,vga dom0_mem=2048M,max:2048M
        \txen_module /boot/vmlinuz-4.19-xen root=LABEL=root-abc ro console=hvc0
        \txen_module /boot/initrd-4.19-xen.img
        }
        menuentry 'Windows' {
        \tchainloader +1
        }

        """

    /// Entries written with GRUB's xen_hypervisor / xen_module (as XenServer's bootloader library
    /// can) are read and edited like multiboot2 / module2.
    @Test func xenHypervisorAndXenModuleLinesAreReadAndEdited() async throws {
        try test.host.write(grub, Self.xenBootCommands)
        let get = try await xenCmdline(["--get-xen", "dom0_mem", "--get-dom0", "root"])
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.stdout == "dom0_mem=2048M,max:2048M\nroot=LABEL=root-abc\n")
        let set = try await xenCmdline(["--set-dom0", "xen-pciback.hide=(0000:04:00.0)", "--set-xen", "dom0_mem=4096M,max:4096M"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try text.contains("\txen_module /boot/vmlinuz-4.19-xen root=LABEL=root-abc ro quiet xen-pciback.hide=(0000:04:00.0)\n"))
        #expect(try text.contains("\txen_module /boot/vmlinuz-4.19-xen root=LABEL=root-abc ro console=hvc0 xen-pciback.hide=(0000:04:00.0)\n"))
        #expect(try text.contains("\txen_hypervisor /boot/xen.gz console=vga dom0_mem=4096M,max:4096M\n"))
        #expect(try text.contains("\txen_module /boot/initrd-4.19-xen.img\n"), "the initrd line is not dom0's")
    }

    /// A get on an entry with no Xen line is an error (1) naming the entry, never an empty answer.
    @Test func aGetOnAnEntryWithoutAXenLineIsAnError() async throws {
        try test.host.write(grub, Self.xenBootCommands.replacing("set default=0", with: "set default=2"))
        let result = try await xenCmdline(["--get-xen", "dom0_mem"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("menu entry 'Windows' has no Xen line"), "\(result.stderr)")
    }

    /// As XenServer's xen-cmdline: --delete-xen KEY=VALUE deletes that exact argument.
    @Test func deletingKeyEqualsValueDeletesThatArgumentOnly() async throws {
        let other = try await xenCmdline(["--delete-xen", "dom0_max_vcpus=1-8"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(try text == original, "a value not present deletes nothing")
        let result = try await xenCmdline(["--delete-xen", "dom0_max_vcpus=1-16", "--get-xen", "dom0_max_vcpus", "watchdog"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "watchdog\n")
        let count = { (text: String) in text.ranges(of: "dom0_max_vcpus=1-16").count }
        #expect(try count(text) == count(original) - 2, "gone from the product entry and its serial twin only")
    }

    @Test func dryRunShowsTheDiffAndWritesNothing() async throws {
        let result = try await xenCmdline(["--set-dom0", "xen-pciback.hide=(0000:04:01.0)", "--dry-run"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("+\tmodule2 /boot/vmlinuz-4.19-xen root=LABEL=root-hgzrsf"))
        #expect(result.stdout.contains("xen-pciback.hide=(0000:04:01.0)"))
        #expect(try text == original)
    }

    @Test func theSecondIdenticalCallWritesNothing() async throws {
        _ = try await xenCmdline(["--set-dom0", "xen-pciback.hide=(0000:04:01.0)"])
        let inode = try FileSystem.status(test.root.resolve(grub))?.st_ino
        let again = try await xenCmdline(["--set-dom0", "xen-pciback.hide=(0000:04:01.0)"])
        #expect(again.status == 0)
        #expect(try FileSystem.status(test.root.resolve(grub))?.st_ino == inode)
    }

    @Test func aMalformedAddressExitsSixtyFourNamingItAndWritesNothing() async throws {
        let result = try await xenCmdline(["--set-dom0", "xen-pciback.hide=(0000:02:00.0)(0000.02:00.3)"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("0000.02:00.3"))
        #expect(try text == original)
    }

    @Test(arguments: [
        (["--frobnicate", "x"], "unknown option '--frobnicate'"),
        ([], "no operation given"),
        (["--set-xen"], "--set-xen needs at least one argument"),
        (["stray"], "unexpected argument 'stray'"),
        (["--list-cpuid-masks", "x"], "takes no arguments"),
        (["--set-cpuid-masks", "cpuid_mask_ecx=zz"], "malformed cpuid mask"),
        (["--delete-cpuid-masks", "dom0_mem"], "not a cpuid mask"),
        (["--set-xen", "dom0_mem=0"], "too small for dom0"),
    ] as [([String], String)])
    func usageErrorsExitSixtyFour(arguments: [String], message: String) async throws {
        let result = try await xenCmdline(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try text == original)
    }

    @Test func cpuidMasksAreSetListedAndDeleted() async throws {
        #expect(try await xenCmdline(["--set-cpuid-masks", "cpuid_mask_ecx=0xffffffff", "cpuid_mask_edx=0x0"]).status == 0)
        #expect(try await xenCmdline(["--list-cpuid-masks"]).stdout == "cpuid_mask_ecx=0xffffffff\ncpuid_mask_edx=0x0\n")
        #expect(try await xenCmdline(["--delete-cpuid-masks", "cpuid_mask_ecx"]).status == 0)
        #expect(try await xenCmdline(["--list-cpuid-masks"]).stdout == "cpuid_mask_edx=0x0\n")
    }

    @Test func jsonCarriesValuesAndThePlan() async throws {
        let result = try await xenCmdline(["--json", "--set-xen", "loglvl=all", "--get-xen", "loglvl"])
        #expect(result.status == 0)
        let decoded = try EnvelopeJSON<BootJSON, PlanJSON>.decode(result.stdout)
        #expect(decoded.tool == "xen-cmdline" && decoded.command == "xen-cmdline")
        #expect(decoded.report?.style == "xenserver")
        #expect(decoded.report?.values.first?.tokens == ["loglvl=all"])
        #expect(decoded.plan?.changes.first?.kind == "replaceFile")
        #expect(decoded.apply?.succeeded == true)
    }

    @Test func hostPrepareBootHidesListsAndReportsAPendingReboot() async throws {
        try test.host.setKernelCommandLine("BOOT_IMAGE=/boot/vmlinuz root=LABEL=root-hgzrsf ro")
        #expect(try await hostPrepare(["hide", "add", "04:00.0", "0000:01:00.0"]).status == 0)
        #expect(try await hostPrepare(["hide", "list"]).stdout == "0000:04:00.0\n0000:01:00.0\n")
        let status = try await hostPrepare(["status"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("at next boot: + xen-pciback.hide=(0000:04:00.0)(0000:01:00.0)"))
        #expect(status.stdout.hasSuffix("reboot needed\n"))
        let bad = try await hostPrepare(["hide", "add", "0000.04:00.0"])
        #expect(bad.status == 64)
    }

    @Test func configEntryAndForceChooseWhatIsEdited() async throws {
        // --config names a file elsewhere; --entry an entry the default rule would skip.
        try test.host.write("/srv/other.cfg", original)
        let result = try await xenCmdline(["--config", "/srv/other.cfg", "--entry", "XCP-ng in Safe Mode",
                                           "--set-xen", "loglvl=all"])
        #expect(result.status == 0, "\(result.stderr)")
        let other = try #require(try test.root.readText("/srv/other.cfg"))
        #expect(other.contains("com1=115200,8n1 console=com1,vga loglvl=all\n"))
        #expect(try text == original, "the searched-for grub.cfg is untouched")
        let forced = try await xenCmdline(["--force", "--set-xen", "dom0_mem=lots"])
        #expect(forced.status == 0)
        #expect(try text.contains("dom0_mem=lots"))
        let missing = try await xenCmdline(["--config", "/srv/none.cfg", "--get-xen", "x"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no such grub.cfg: /srv/none.cfg"))
    }

    @Test func debianChangesUnderARootSayHowToRegenerate() async throws {
        let debian = try TestHost()
        try debian.host.write("/etc/default/grub", try Fixtures.text("boot/ubuntu-22.04.default-grub"))
        let result = try await CommandRunner().run([BuiltProducts.executable("xen-cmdline").string, "--root",
                                                    debian.root.path.string, "--set-xen", "dom0_mem=2G"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("grub.cfg was not regenerated under --root; on the host run:"))
        #expect(try debian.root.readText("/etc/default/grub")?.hasSuffix("GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=2G\"\n") == true)
        let quiet = try await CommandRunner().run([BuiltProducts.executable("xen-cmdline").string, "--root", debian.root.path.string,
                                                   "--no-regenerate", "--style", "debian-dropin", "--set-xen", "dom0_mem=4G"])
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("regenerated"))
        #expect(try debian.root.readText("/etc/default/grub.d/dom0kit.cfg")?.contains("GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=4G\"") == true)
    }
}

/// xen-cmdline's report as a script reads it.
private struct BootJSON: Decodable {
    struct Value: Decodable { var tokens: [String] }
    var style: String
    var values: [Value]
}
