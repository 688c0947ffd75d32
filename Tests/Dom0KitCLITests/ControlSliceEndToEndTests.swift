import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// control-slice and its generator, the real binary on fake hosts.
@Suite("control-slice, end to end")
struct ControlSliceEndToEndTests {
    let test: TestHost

    init() throws {
        test = try TestHost()
        try test.host.write("/sys/fs/cgroup/cgroup.controllers", "cpu io memory\n")
        for unit in ["xapi", "sshd"] {
            try test.host.write(FilePath("/usr/lib/systemd/system/\(unit).service"), "[Service]\nExecStart=/bin/true\n")
        }
    }

    private func run(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner().run([BuiltProducts.executable("control-slice").string] + arguments)
    }

    @Test func sharesBecomeAWeightOnCgroupV2AndRemoveUndoesIt() async throws {
        let applied = try await run(["apply", "--root", test.root.path.string, "--shares", "10240"])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("Members move into control.slice at their next restart"))
        let slice = try #require(try test.root.readText("/etc/systemd/system/control.slice"))
        #expect(slice.contains("CPUWeight=1000\n") && !slice.contains("CPUShares"))
        let again = try await run(["apply", "--root", test.root.path.string, "--shares", "10240"])
        #expect(again.stdout.contains("Nothing to do."))
        let removed = try await run(["remove", "--root", test.root.path.string])
        #expect(removed.status == 0)
        #expect(try !test.root.exists("/etc/systemd"))
    }

    @Test func aBadConfigNamesFileAndLineAndNothingIsWritten() async throws {
        try test.host.write("/etc/dom0kit/control-slice.conf", "[Slice]\nCPUWeight=10001\n")
        let result = try await run(["apply", "--root", test.root.path.string])
        #expect(result.status == 64)
        #expect(result.stderr.contains("/etc/dom0kit/control-slice.conf:2"))
        #expect(try !test.root.exists("/etc/systemd/system"))
    }

    @Test(arguments: [["--weight", "0"], ["--weight", "5", "--shares", "512"], ["--unit", "a/b"], ["--slice", "control.service"]])
    func badFlagsAreUsageErrors(flags: [String]) async throws {
        let result = try await run(["plan", "--root", test.root.path.string] + flags)
        #expect(result.status == 64, "\(result.stderr)")
    }

    @Test func generateAndStatusAnswer() async throws {
        let output = try TemporaryDirectory("dom0kit-generated")
        let generated = try await run(["generate", "--root", test.root.path.string, output.path.string])
        #expect(generated.status == 0)
        #expect(generated.stdout == "control.slice\nsshd.service.d/50-dom0kit-slice.conf\nxapi.service.d/50-dom0kit-slice.conf\n")
        let status = try await run(["status", "--root", test.root.path.string, "--json"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"state\" : \"not running\""))
    }

    @Test func theGeneratorWritesNothingWhenUnconfigured() async throws {
        // This machine has no /etc/dom0kit/control-slice.conf: the generator must leave its directory empty.
        #expect(try !HostRoot.system.exists(FilePath("/etc/dom0kit/control-slice.conf")))
        let links = try TemporaryDirectory("dom0kit-links")
        try FileSystem.symlink(BuiltProducts.executable("dom0kit"), at: links.appending("control-slice-generator"))
        let output = try TemporaryDirectory("dom0kit-generator")
        let generator = links.appending("control-slice-generator").string
        let result = try await CommandRunner().run([generator, output.path.string, output.path.string, output.path.string])
        #expect(result.status == 0)
        #expect(try FileSystem.entries(output.path).isEmpty)
        #expect(try await CommandRunner().run([generator]).status == 64)
    }
}
