import FoundationEssentials
import Dom0Core
import Dom0KitDemo
import FakeHost
import HostSpec
import SystemPackage
import Testing
import TestSupport

/// host-prepare plan, apply and firstboot as the real commands, on the demo host's tree, its kernel
/// simulated (the tools' test binary, fakehost-dom0kit).
@Suite("host-prepare with a spec, end to end")
struct HostSpecEndToEndTests {
    /// A demo host and its spec in a temporary directory.
    struct Site {
        let directory: TemporaryDirectory
        let demo: DemoHost
        let spec: FilePath
        var root: String { directory.appending("root").string }

        init() async throws {
            directory = try TemporaryDirectory("dom0kit-e2e")
            demo = try DemoHost.build(at: directory.appending("root"))
            spec = try await Demo.writeSpec(for: demo, in: directory.path).spec
        }
    }

    func hostPrepare(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await CommandRunner(timeout: .seconds(120), environment: environment)
            .run([FakeHostTools.executable.string, "host-prepare"] + arguments)
    }

    /// host-prepare plans each part's change as the part's own tool plans it: the same steps,
    /// diffs, argv and details, from the one planner both call. Every section the demo's spec has
    /// is held so but the agent's, which no tool but host-prepare writes (the rules file and the
    /// unit); its rules are written first here, as the agent section would, for pciback-agent to read.
    @Test func eachSectionIsWhatItsOwnToolPlans() async throws {
        let site = try await Site()
        let pack = site.directory.appending("packs/dom0kit-demo-tools.iso")
        let hidden = ["0000:01:00.0", "0000:01:00.1", "0000:04:00.0"]
        try site.demo.host.write("/etc/dom0kit/pciback.conf", hidden.map { "\($0) pciback\n" }.joined())
        let planned = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--json"])
        #expect(planned.status == 0, "\(planned.stderr)")
        let sections = try #require(try EnvelopeJSON<Ignored, HostPlanJSON>.decode(planned.stdout).plan).sections
        func section(_ module: String) -> [JSONValue]? { sections.first { $0.module == module }?.plan.changes }
        func tool(_ arguments: [String]) async throws -> String {
            let result = try await CommandRunner(timeout: .seconds(120)).run([FakeHostTools.executable.string] + arguments
                + ["--root", site.root, "--json"])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result.stdout
        }
        let disk = try await tool(["dom0-partition", "plan", "--disk", DemoHost.disk.string])
        #expect(try ToolJSON.decode(disk).plan?.changes == section("disk"))
        let slice = try await tool(["control-slice", "apply", "--dry-run", "--weight", "1000"])
        #expect(try ToolJSON.decode(slice).plan?.changes == section("control_slice"))
        let install = try await tool(["supp-pack", "install", "--dry-run", pack.string])
        #expect(try ToolJSON.decode(install).plan?.changes == section("packs"))
        let boot = try await tool(["xen-cmdline", "--dry-run", "--set-dom0", "xen-pciback.hide=" + hidden.map { "(\($0))" }.joined(),
                                   "--set-xen", "dom0_mem=4096M,max:4096M"])
        #expect(try ToolJSON.decode(boot).plan?.changes == section("boot"))
        // The devices section is a dry-run pass of the agent: the devices it would bind, as `once` finds them.
        let once = try ReportJSON<PassJSON>.decode(try await tool(["pciback-agent", "once", "--dry-run"]))
        let pending = once.report?.devices.filter { $0.outcome == "pending" }.map(\.bdf)
        #expect(pending == hidden)
        #expect(section("devices") == [.object(["kind": .string("bindDevices"), "module": .string("devices"),
                                                  "summary": .string("as pciback-agent once would"),
                                                  "details": .object(["devices": .string(pending?.joined(separator: " ") ?? "")])])])
        for module in ["disk", "control_slice", "packs", "boot", "devices"] { #expect(section(module)?.isEmpty == false, "\(module)") }
    }

    /// The same refusal told to each front end's user in its own words: the spec's keys to the
    /// spec's user, the options to the tool's.
    @Test func aSpecsUserIsToldTheSpecsKeysAndAToolsUserItsOptions() async throws {
        let site = try await Site()
        let image = FilePath(site.root).appending("srv/other.img")
        try FileSystem.createDirectories(image.removingLastComponent())
        #expect(try await CommandRunner().run(["truncate", "-s", "64G", image.string]).status == 0)
        let table = try await CommandRunner().run(["sfdisk", "--quiet", image.string], input: Array("label: dos\n,100M\n".utf8))
        #expect(table.status == 0, "\(table.stderr)")
        let spec = site.directory.appending("disk.yaml")
        try AtomicWriter.write(Array("disk:\n  device: /srv/other.img\n".utf8), to: spec, in: .system)
        let planned = try await hostPrepare(["plan", spec.string, "--root", site.root, "--json"])
        #expect(planned.status == 2)
        let told = try #require(try ReportJSON<Ignored>.decode(planned.stdout).error)
        #expect(told.fix == "set disk.wipe: true to destroy it, or set disk.upgrade: allowed to keep what an upgrade keeps")
        #expect(planned.stderr.contains("fix: set disk.wipe: true"))
        let tool = try await CommandRunner().run([FakeHostTools.executable.string, "dom0-partition", "plan", "--disk", "/srv/other.img",
                                                  "--root", site.root, "--json"])
        #expect(tool.status == 2)
        #expect(try ReportJSON<Ignored>.decode(tool.stdout).error?.fix == "pass --wipe to destroy it, or pass --upgrade to keep what an upgrade keeps")
    }

    @Test func planPrintsEveryModuleAndJSONForScripts() async throws {
        let site = try await Site()
        let text = try await hostPrepare(["plan", site.spec.string, "--root", site.root])
        #expect(text.status == 0, "\(text.stderr)")
        for module in ["disk:", "packs:", "boot:", "control_slice:", "agent:", "devices:"] {
            #expect(text.stdout.contains("\n\(module)\n") || text.stdout.hasPrefix("\(module)\n"), "\(module)")
        }
        let json = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--json"])
        #expect(json.stdout.contains(#""needsReboot" : true"#))
        #expect(json.stdout.contains(#""module" : "control_slice""#))
        let dryRun = try await hostPrepare(["apply", site.spec.string, "--root", site.root, "--dry-run"])
        #expect(dryRun.stdout == text.stdout, "apply --dry-run shows the plan and stops")
        let bad = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--reboot"])
        #expect(bad.status == 64)
    }

    /// The number of steps the demo spec's plan has on a fresh demo host.
    func stepCount() async throws -> Int {
        let site = try await Site()
        let json = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--json"])
        return json.stdout.ranges(of: #""kind" : "#).count
    }

    @Test func aCrashAfterAnyStepIsFinishedByTheNextApply() async throws {
        let clean = try await Site()
        let applied = try await hostPrepare(["apply", clean.spec.string, "--root", clean.root])
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let expected = try await treeSnapshot(try HostRoot(FilePath(clean.root)))
        let steps = try await stepCount()
        #expect(steps == 17, "the disk table, the pack record, grub.cfg, the slice record, unit and 10 drop-ins, the agent rules, binding")
        for step in 1...steps {
            let site = try await Site()
            let crashed = try await hostPrepare(["apply", site.spec.string, "--root", site.root],
                                                environment: [FakeHostTools.crashAfterStepVariable: "\(step)"])
            #expect(crashed.status == 128 + 9, "SIGKILLed after step \(step)")
            let journal = try #require(try ApplyJournal.read(HostRoot(FilePath(site.root))), "step \(step)")
            #expect(journal.done == step)
            let resumed = try await hostPrepare(["apply", site.spec.string, "--root", site.root])
            #expect(resumed.status == 0, "after step \(step): \(resumed.stdout)\(resumed.stderr)")
            #expect(resumed.stdout.hasPrefix("Finishing an apply of \(site.spec.string) stopped after step \(step) of \(steps)"))
            let tree = try await treeSnapshot(try HostRoot(FilePath(site.root)))
            let differing = Set(tree.keys).union(expected.keys).filter { tree[$0] != expected[$0] }.sorted()
            #expect(differing.isEmpty, "after a crash after step \(step), these differ from a clean run: \(differing.prefix(5)) \(differing.first.map { "\(tree[$0] ?? "absent") vs \(expected[$0] ?? "absent")" } ?? "")")
        }
    }

    /// One apply at a time (the second hardening round found two applies on one root racing:
    /// one failed midway with "the file changed after the plan was made", once both exited 0).
    /// While another process holds the host's lock, every mutating command refuses at once, in
    /// words alone (no journal fields glued to the text), and writes nothing.
    @Test func whileAnotherHoldsTheHostsLockChangesAreRefusedAtOnce() async throws {
        let site = try await Site()
        try site.demo.host.write("/etc/dom0kit/host.yaml", try #require(try contents(site.spec)))
        let root = try HostRoot(FilePath(site.root))
        let before = try await treeSnapshot(root)
        do {
            let lock = try HostLock(root)
            for command in [["host-prepare", "apply", site.spec.string], ["host-prepare", "firstboot"],
                            ["xen-cmdline", "--set-xen", "loglvl=all"], ["control-slice", "apply", "--weight", "900"]] {
                let result = try await CommandRunner(timeout: .seconds(120))
                    .run([FakeHostTools.executable.string] + command + ["--root", site.root])
                #expect(result.status == 2, "\(command): exit \(result.status): \(result.stdout)\(result.stderr)")
                #expect(result.stderr.contains("another Dom0Kit command is changing this host: \(root.path)"), "\(command): \(result.stderr)")
                #expect(!result.stderr.contains("kind=") && !result.stderr.contains("step="), "\(result.stderr)")
            }
            let get = try await CommandRunner(timeout: .seconds(120))
                .run([FakeHostTools.executable.string, "xen-cmdline", "--get-xen", "dom0_mem", "--root", site.root])
            #expect(get.status == 0, "a read needs no lock: \(get.stderr)")
            #expect(try await treeSnapshot(root) == before)
            withExtendedLifetime(lock) {}
        }
        let applied = try await hostPrepare(["apply", site.spec.string, "--root", site.root])
        #expect(applied.status == 0, "the lock went with its holder: \(applied.stderr)")
    }

    /// Two applies started together: each either does the whole job or refuses at once, and the
    /// host ends as one apply leaves it.
    @Test func twoAppliesAtOnceNeverStopMidway() async throws {
        let site = try await Site()
        async let first = hostPrepare(["apply", site.spec.string, "--root", site.root])
        async let second = hostPrepare(["apply", site.spec.string, "--root", site.root])
        let results = try await [first, second]
        for result in results {
            #expect(result.status == 0 || (result.status == 2 && result.stderr.contains("another Dom0Kit command is changing this host")),
                    "exit \(result.status): \(result.stdout)\(result.stderr)")
        }
        #expect(results.contains { $0.status == 0 })
        let again = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try EnvelopeJSON<Ignored, EmptyJSON>.decode(again.stdout).plan?.empty == true, "\(again.stdout)")
    }

    @Test func firstBootAppliesTheHostsOwnSpecOnce() async throws {
        let site = try await Site()
        let spec = try #require(try contents(site.spec))
        try site.demo.host.write("/etc/dom0kit/host.yaml", spec)
        let first = try await hostPrepare(["firstboot", "--root", site.root, "--reboot"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Reboot needed"))
        #expect(first.stderr.contains("(--reboot: not rebooting a host tree under --root)"))
        let root = try HostRoot(FilePath(site.root))
        #expect(try root.readText("/var/lib/dom0kit/firstboot.done")?.hasPrefix("/etc/dom0kit/host.yaml applied") == true)
        let second = try await hostPrepare(["firstboot", "--root", site.root])
        #expect(second.status == 0)
        #expect(second.stdout.contains("First boot was done already"))
    }

    @Test func aFailedFirstBootLeavesNoMarkerSoTheNextBootTriesAgain() async throws {
        let site = try await Site()
        try site.demo.host.write("/etc/dom0kit/host.yaml", "packs:\n  sources: [/nonexistent/pack.iso]\n")
        let failed = try await hostPrepare(["firstboot", "--root", site.root])
        #expect(failed.status == 64)
        #expect(failed.stderr.contains("no such pack"))
        #expect(try HostRoot(FilePath(site.root)).exists("/var/lib/dom0kit/firstboot.done") == false)
    }
}

/// A JSON value, compared as a whole.
private indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

private struct ChangesJSON: Decodable { var changes: [JSONValue] }
/// Whether a host plan (host-prepare plan --json) has nothing to do.
private struct EmptyJSON: Decodable { var empty: Bool }
private struct HostPlanJSON: Decodable {
    struct Section: Decodable { var module: String; var plan: ChangesJSON }
    var sections: [Section]
}
/// pciback-agent once's report as a script reads it.
private struct PassJSON: Decodable {
    struct Device: Decodable { var bdf: String; var outcome: String }
    var devices: [Device]
}

/// A tool's --json, of which the test reads the plan's changes as they are.
private typealias ToolJSON = EnvelopeJSON<Ignored, ChangesJSON>
