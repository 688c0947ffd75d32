import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

@Suite("Plans: computed, shown, applied in order")
struct PlanTests {
    let directory: TemporaryDirectory
    let root: HostRoot

    init() throws {
        directory = try TemporaryDirectory()
        root = try HostRoot(directory.path)
        try FileSystem.createDirectories(directory.appending("etc"))
        try AtomicWriter.write(Array("GRUB_TIMEOUT=5\n".utf8), to: "/etc/grub", in: root)
    }

    private func change(_ path: FilePath, _ text: String) throws -> Change? {
        try Change.file(path, content: Array(text.utf8), in: root, part: .boot, summary: "set \(path)")
    }

    @Test func aFileWithTheWantedContentNeedsNoChange() throws {
        #expect(try change("/etc/grub", "GRUB_TIMEOUT=5\n") == nil)
        #expect(try Change.delete("/etc/missing", in: root, part: .boot, summary: "") == nil)
    }

    @Test func anEmptyPlanIsEmptyInJSON() throws {
        let json = try Output.json(Plan())
        #expect(json == "{\n  \"changes\" : [\n\n  ]\n}\n")
        #expect(Plan().text == "Nothing to do.\n")
    }

    @Test func changesCarryKindPathDiffValueAndArgv() throws {
        var plan = Plan()
        plan.add(try change("/etc/grub", "GRUB_TIMEOUT=1\n"))
        plan.add(try change("/etc/new", "x\n"))
        plan.add(.attribute("/sys/bus/pci/devices/0000:01:00.0/driver_override", value: "pciback", part: .devices, summary: "s"))
        plan.add(.tool(["update-grub"], part: .boot, summary: "regenerate grub.cfg"))
        let decoded = try JSONDecoder().decode(PlanJSON.self, from: Data(Output.json(plan).utf8))
        let changes = decoded.changes
        #expect(changes.map(\.kind) == ["replaceFile", "createFile", "writeAttribute", "runTool"])
        #expect(changes[0].diff?.contains("-GRUB_TIMEOUT=5\n+GRUB_TIMEOUT=1\n") == true)
        #expect(changes[1].path == "/etc/new")
        #expect(changes[2].value == "pciback")
        #expect(changes[3].argv == ["update-grub"])
        #expect(changes.allSatisfy { !$0.module.isEmpty && !$0.summary.isEmpty })
        #expect(plan.text.contains("4. [boot] run update-grub — regenerate grub.cfg"))
    }

    @Test func applyThenPlanAgainIsEmpty() async throws {
        let plan = Plan([try change("/etc/grub", "GRUB_TIMEOUT=1\n"), try change("/var/lib/dom0kit/state", "{}\n")].compactMap { $0 })
        let report = await plan.apply(ApplyContext(root: root))
        #expect(report.succeeded)
        #expect(report.done.count == 2)
        #expect(try change("/etc/grub", "GRUB_TIMEOUT=1\n") == nil)
        #expect(try change("/var/lib/dom0kit/state", "{}\n") == nil)
    }

    @Test func applyStopsAtTheFirstFailureAndSaysWhatWasNotDone() async throws {
        let plan = Plan([
            try #require(try change("/etc/one", "1\n")),
            .tool(["false"], part: .boot, summary: "fails"),
            try #require(try change("/etc/two", "2\n")),
        ])
        let report = await plan.apply(ApplyContext(root: root))
        #expect(!report.succeeded)
        #expect(report.done.map(\.path) == ["/etc/one"])
        #expect(report.failed?.action == .runTool(argv: ["false"]))
        #expect(report.error?.description.contains("exit status 1") == true)
        #expect(report.notDone.map(\.path) == ["/etc/two"])
        #expect(try root.read("/etc/two") == nil)
        #expect(report.text.contains("not done: [boot] create /etc/two"))
    }

    @Test func applyRefusesAFileThatChangedAfterPlanning() async throws {
        let plan = Plan([try #require(try change("/etc/grub", "GRUB_TIMEOUT=1\n"))])
        try AtomicWriter.write(Array("GRUB_TIMEOUT=9\n".utf8), to: "/etc/grub", in: root)
        let report = await plan.apply(ApplyContext(root: root))
        #expect(report.error?.status == .refused)
        #expect(try root.readText("/etc/grub") == "GRUB_TIMEOUT=9\n")
    }

    @Test func backupsKeepThePreviousContent() async throws {
        let plan = Plan([try #require(try change("/etc/grub", "GRUB_TIMEOUT=1\n"))])
        let report = await plan.apply(ApplyContext(root: root, backups: true))
        #expect(report.succeeded)
        #expect(try root.readText(FilePath("/etc/grub" + AtomicWriter.backupSuffix)) == "GRUB_TIMEOUT=5\n")
    }

    @Test func dryRunRunnerRecordsMutatingToolsWithoutRunningThem() async throws {
        let marker = directory.appending("ran")
        let plan = Plan([.tool(["touch", marker.string], part: .boot, summary: "touch")])
        let report = await plan.apply(ApplyContext(root: root, runner: CommandRunner(dryRun: true)))
        #expect(report.succeeded)
        #expect(try FileSystem.status(marker) == nil)
    }
}

/// The plan's JSON as scripts read it.
private struct PlanJSON: Decodable {
    struct Change: Decodable {
        var kind: String
        var module: String
        var summary: String
        var path: String?
        var diff: String?
        var value: String?
        var argv: [String]?
    }

    var changes: [Change]
}
