import Dom0Core
import Dom0KitDemo
import Dom0KitCLI
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// The real binaries, run as people and scripts run them.
@Suite("The tools, end to end")
struct EndToEndTests {
    static let tools = Tool.tools.map(\.rawValue)

    /// A directory of symlinks named after each tool, pointing at the multi-call binary, as the installer lays them out.
    let links: TemporaryDirectory

    init() throws {
        links = try TemporaryDirectory("dom0kit-links")
        for tool in Self.tools { try FileSystem.symlink(BuiltProducts.executable("dom0kit"), at: links.appending(tool)) }
    }

    private func run(_ argv: [String]) async throws -> CommandResult {
        try await CommandRunner(timeout: .seconds(120)).run(argv)
    }

    /// The tools are listed once, in `Tool`: the binary names them to installers, and Package.swift's
    /// list (a manifest cannot import the code) is held equal to it here.
    @Test func theBinaryAndTheManifestNameTheSameTools() async throws {
        let listed = try await run([BuiltProducts.executable("dom0kit").string, "--list-tools"])
        #expect(listed.status == 0)
        #expect(listed.stdout == Self.tools.map { "\($0)\n" }.joined())
        let manifest = FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent().appending("Package.swift")
        let line = try #require(try contents(manifest)?.split(separator: "\n").first { $0.hasPrefix("let tools = [") })
        let names = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(names == Self.tools)
    }

    @Test(arguments: tools)
    func everyToolAnswersHelpThroughItsSymlink(tool: String) async throws {
        let result = try await run([links.appending(tool).string, "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: \(tool)"))
        #expect(result.stdout.contains("OVERVIEW: "))
    }

    @Test(arguments: tools)
    func everyToolAnswersVersionThroughItsOwnExecutable(tool: String) async throws {
        let result = try await run([BuiltProducts.executable(tool).string, "--version"])
        #expect(result.status == 0)
        #expect(result.stdout == Dom0Kit.version + "\n")
    }

    @Test(arguments: ["plan", "apply", "check"])
    func specCommandsNameAMissingSpecAndExit64(command: String) async throws {
        let result = try await run([links.appending("host-prepare").string, command, "/nonexistent/host.yaml"])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("host-prepare: error: no such spec: /nonexistent/host.yaml"))
    }

    @Test func pcibackAgentOnceAndHealthOnTheDemoHost() async throws {
        let directory = try TemporaryDirectory()
        _ = try await run([links.appending("host-prepare").string, "demo", directory.path.string])
        let root = directory.appending("root").string
        let once = try await run([links.appending("pciback-agent").string, "once", "--root", root, "--dry-run"])
        // The demo's spec gave the agent three rules and apply bound the devices.
        #expect(once.status == 0)
        #expect(once.stdout.hasSuffix("3 hidden, 3 bound, 0 pending\n"), "\(once.stdout)")
        let bad = try await run([links.appending("pciback-agent").string, "restore", "0000.01:00.0", "--root", root])
        #expect(bad.status == 64)
        // Binding needs a kernel: the demo host's simulated one, through the tools' test binary.
        let restored = try await run([FakeHostTools.executable.string, "pciback-agent", "restore", "0000:04:00.0", "--root", root])
        #expect(restored.stdout == "0000:04:00.0: now on e1000e\n", "the demo host's kernel gives it back to its driver")
        let health = try await run([links.appending("host-prepare").string, "health", "--root", root, "--json"])
        #expect(health.status == 1, "the NIC is hidden but back on e1000e: \(health.stdout)")
        #expect(health.stdout.contains("\"status\" : \"FAIL\""))
        #expect(try await run([links.appending("pciback-agent").string, "health", "--root", root]).stdout.contains("Dom0Kit: Checking IOMMU"))
    }

    @Test func hostPrepareDiskPackAndSliceAreTheToolsCommands() async throws {
        for (subcommand, tool) in [("disk", "dom0-partition"), ("pack", "supp-pack"), ("slice", "control-slice")] {
            let mine = try await run([links.appending("host-prepare").string, subcommand, "--help"])
            let theirs = try await run([links.appending(tool).string, "--help"])
            #expect(mine.status == 0)
            let subcommands = { (text: String) in
                text.split(separator: "\n").drop { !$0.hasPrefix("SUBCOMMANDS:") }.filter { !$0.hasPrefix("  See ") }
            }
            #expect(subcommands(mine.stdout) == subcommands(theirs.stdout), "\(subcommand) offers \(tool)'s subcommands")
        }
        let directory = try TemporaryDirectory()
        _ = try await run([links.appending("host-prepare").string, "demo", directory.path.string])
        let list = try await run([links.appending("host-prepare").string, "pack", "list", "--root", directory.appending("root").string])
        #expect(list.status == 0)
        #expect(list.stdout.contains("dom0kit:demo-tools"))
    }

    @Test func theMultiCallBinaryDispatchesOnItsFirstArgument() async throws {
        let dom0kit = BuiltProducts.executable("dom0kit").string
        let help = try await run([dom0kit, "--help"])
        #expect(help.status == 0)
        for tool in Self.tools { #expect(help.stdout.contains(tool)) }
        let version = try await run([dom0kit, "xen-cmdline", "--version"])
        #expect(version.stdout == Dom0Kit.version + "\n")
        let unknown = try await run([dom0kit, "frobnicate"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown tool 'frobnicate'"))
        let bare = try await run([dom0kit])
        #expect(bare.status == 64)
    }

    @Test func usageErrorsExitSixtyFour() async throws {
        let result = try await run([links.appending("host-prepare").string, "demo", "--no-such-flag"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--no-such-flag"))
    }

    @Test func aMissingRootIsNamedBeforeAnythingElse() async throws {
        let result = try await run([links.appending("xen-cmdline").string, "--root", "/no/such/root", "--get-dom0", "x"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("no such host root: /no/such/root"))
    }

    @Test func theDemoRejectsRootSinceItBuildsItsOwnHost() async throws {
        let result = try await run([links.appending("host-prepare").string, "demo", "--root", "/tmp"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--root"))
    }

    @Test func theDemoRunsAndRerunsAndRefusesForeignDirectories() async throws {
        let directory = try TemporaryDirectory()
        let demo = [links.appending("host-prepare").string, "demo", directory.appending("demo").string]
        let first = try await run(demo)
        #expect(first.status == 0, "\(first.stderr)")
        for step in ["Step 1 — host-prepare plan", "Step 2 — host-prepare apply", "Step 3 — host-prepare apply again",
                     "Step 4 — host-prepare check", "0000:01:00.0", "Nothing to do: the host is as the spec says."] {
            #expect(first.stdout.contains(step), "\(step)")
        }
        let second = try await run(demo + ["--json"])
        #expect(second.status == 0)
        let envelope = try ReportJSON<DemoJSON>.decode(second.stdout)
        #expect(envelope.schema == "dom0kit/1" && envelope.tool == "host-prepare" && envelope.command == "demo")
        let report = try #require(envelope.report)
        #expect(report.plan.sections.map(\.module) == ["disk", "packs", "boot", "control_slice", "agent", "devices"])
        #expect(report.apply.succeeded && report.apply.needsReboot)
        #expect(report.applyAgain.nothingToDo)
        #expect(report.check.results.allSatisfy { $0.status != "FAIL" })

        try AtomicWriter.write(Array("mine".utf8), to: "/notes.txt", in: HostRoot(directory.path))
        let refused = try await run([links.appending("host-prepare").string, "demo", directory.path.string])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("refusing"))
        #expect(try contents(directory.appending("notes.txt")) == "mine")
    }
}

/// The demo's JSON as a script reads it.
private struct DemoJSON: Decodable {
    struct PlanJSON: Decodable {
        struct Section: Decodable { var module: String }
        var sections: [Section]
    }

    struct ApplyJSON: Decodable {
        var succeeded: Bool
        var needsReboot: Bool
        var nothingToDo: Bool
    }

    struct CheckJSON: Decodable {
        struct Result: Decodable { var status: String }
        var results: [Result]
    }

    var plan: PlanJSON
    var apply: ApplyJSON
    var applyAgain: ApplyJSON
    var check: CheckJSON
}
