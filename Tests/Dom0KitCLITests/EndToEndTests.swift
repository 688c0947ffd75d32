import Dom0Core
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

    @Test(arguments: [["host-prepare", "plan", "host.yaml"], ["host-prepare", "check", "host.yaml"]])
    func commandsNotBuiltYetFailClearlyWithExitOne(command: [String]) async throws {
        let result = try await run([links.appending(command[0]).string] + command.dropFirst())
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty, "no fake output")
        #expect(result.stderr.hasPrefix("\(command[0]): error: \(command[0]) \(command[1]) is not implemented yet"))
    }

    @Test func pcibackAgentOnceSaysWhatItWouldBindOnTheDemoHost() async throws {
        let directory = try TemporaryDirectory()
        _ = try await run([links.appending("host-prepare").string, "demo", directory.path.string])
        let root = directory.appending("root").string
        let dryRun = try await run([links.appending("pciback-agent").string, "once", "--root", root, "--dry-run"])
        // The demo hid three devices on the boot command line; the running /proc/cmdline does not have them yet.
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.hasSuffix("0 hidden, 0 bound, 0 pending\n"))
        let bad = try await run([links.appending("pciback-agent").string, "restore", "0000.01:00.0", "--root", root])
        #expect(bad.status == 64)
        let health = try await run([links.appending("host-prepare").string, "health", "--root", root, "--json"])
        #expect(health.status == 0, "the demo host has nothing that FAILs: \(health.stdout)")
        #expect(health.stdout.contains("\"status\" : \"WARN\""))
        #expect(try await run([links.appending("pciback-agent").string, "health", "--root", root]).stdout.contains("Dom0Kit: Checking IOMMU"))
    }

    @Test func pendingHostPrepareSubcommandsFailClearly() async throws {
        let result = try await run([links.appending("host-prepare").string, "disk", "plan"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("host-prepare disk is not implemented yet"))
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
        #expect(first.stdout.contains("Step 1 — plan"))
        #expect(first.stdout.contains("0000:01:00.0"))
        let second = try await run(demo + ["--json"])
        #expect(second.status == 0)
        let report = try JSONDecoder().decode(DemoJSON.self, from: Data(second.stdout.utf8))
        #expect(report.plan.schemaVersion == 1)
        #expect(report.planAfterApply.changes.isEmpty)
        #expect(report.apply.succeeded)

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
        struct Change: Decodable { var kind: String }
        var schemaVersion: Int
        var changes: [Change]
    }

    struct ApplyJSON: Decodable {
        var succeeded: Bool
    }

    var plan: PlanJSON
    var apply: ApplyJSON
    var planAfterApply: PlanJSON
}
