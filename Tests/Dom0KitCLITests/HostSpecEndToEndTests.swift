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

    @Test func planPrintsEveryModuleAndJSONForScripts() async throws {
        let site = try await Site()
        let text = try await hostPrepare(["plan", site.spec.string, "--root", site.root])
        #expect(text.status == 0, "\(text.stderr)")
        for module in ["disk:", "packs:", "boot:", "control-slice:", "agent:", "devices:"] {
            #expect(text.stdout.contains("\n\(module)\n") || text.stdout.hasPrefix("\(module)\n"), "\(module)")
        }
        let json = try await hostPrepare(["plan", site.spec.string, "--root", site.root, "--json"])
        #expect(json.stdout.contains(#""needsReboot" : true"#))
        #expect(json.stdout.contains(#""module" : "control-slice""#))
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

    @Test func firstBootAppliesTheHostsOwnSpecOnce() async throws {
        let site = try await Site()
        let spec = try #require(try contents(site.spec))
        try site.demo.host.write("/etc/dom0kit/host.yaml", spec)
        let first = try await hostPrepare(["firstboot", "--root", site.root, "--reboot"])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Reboot needed"))
        #expect(first.stdout.contains("(--reboot: not rebooting a host tree under --root)"))
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
