import Dom0Core
import Dom0KitCLI
import Dom0KitDemo
import FakeHost
import SystemPackage
import Testing
import TestSupport

/// Every command of every tool, run with --json on the demo host (its kernel simulated), prints
/// one envelope of docs/json.md on stdout — a success, a refusal and a usage error alike.
@Suite("One JSON envelope for every command")
struct JSONEnvelopeTests {
    /// One run: the arguments after the tool's name ($ROOT, $SPEC, $PACK, $DIR and $BAD are the
    /// demo host's tree, its spec, its pack, a new directory and a spec with a malformed address),
    /// and whether it is meant to be refused (exit ≠ 0 with an error).
    struct Run: Sendable, CustomStringConvertible {
        var tool: Tool
        var arguments: [String]
        var refused: Bool
        var description: String { "\(tool.rawValue) \(arguments.joined(separator: " "))" }
    }

    static func ok(_ tool: Tool, _ arguments: String) -> Run { Run(tool: tool, arguments: words(arguments), refused: false) }
    static func no(_ tool: Tool, _ arguments: String) -> Run { Run(tool: tool, arguments: words(arguments), refused: true) }
    static func words(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

    /// In order: what only reads or plans first, then what changes the demo host. Commands that
    /// need a running Xen or kernel (dom0-sched apply, hugepages apply, the agent's daemon) and
    /// hugepages on a Xen host are refused here: those refusals are their runs.
    static let runs: [Run] = [
        ok(.hostPrepare, "plan $SPEC --root $ROOT"), no(.hostPrepare, "plan /nonexistent.yaml --root $ROOT"),
        ok(.hostPrepare, "check $SPEC --root $ROOT"), no(.hostPrepare, "check $BAD --root $ROOT"),
        ok(.hostPrepare, "health --root $ROOT"), no(.hostPrepare, "health --root /nonexistent"),
        ok(.hostPrepare, "boot hide list --root $ROOT"), no(.hostPrepare, "boot hide add zz --root $ROOT"),
        ok(.hostPrepare, "boot iommu --xen force --dry-run --root $ROOT"), no(.hostPrepare, "boot iommu --xen bogus --root $ROOT"),
        ok(.hostPrepare, "boot dom0-mem 4G --dry-run --root $ROOT"), no(.hostPrepare, "boot dom0-mem -1 --root $ROOT"),
        ok(.hostPrepare, "boot dom0-cpus --vcpus 4 --dry-run --root $ROOT"), no(.hostPrepare, "boot dom0-cpus --vcpus 0 --root $ROOT"),
        ok(.hostPrepare, "boot vfio list --root $ROOT"), no(.hostPrepare, "boot vfio add xyz --root $ROOT"),
        ok(.hostPrepare, "boot status --root $ROOT"), no(.hostPrepare, "boot status --style bogus --root $ROOT"),
        no(.hostPrepare, "dom0-sched set --weight 0 --root $ROOT"), no(.hostPrepare, "dom0-sched apply --root $ROOT"),
        no(.hostPrepare, "hugepages set --nodes 0:10 --root $ROOT"), no(.hostPrepare, "hugepages apply --root $ROOT"),
        ok(.hostPrepare, "disk plan --disk /dev/sda --root $ROOT"), no(.hostPrepare, "disk plan --disk /dev/nope --root $ROOT"),
        ok(.hostPrepare, "disk apply --disk /dev/sda --dry-run --root $ROOT"), no(.hostPrepare, "disk apply --disk /dev/sda --root $ROOT"),
        ok(.hostPrepare, "pack info $PACK --root $ROOT"), no(.hostPrepare, "pack info /nonexistent.iso --root $ROOT"),
        ok(.hostPrepare, "pack verify $PACK --root $ROOT"), no(.hostPrepare, "pack verify /nonexistent.iso --root $ROOT"),
        ok(.hostPrepare, "pack install $PACK --dry-run --root $ROOT"), no(.hostPrepare, "pack install $DIR --root $ROOT"),
        ok(.hostPrepare, "pack list --root $ROOT"), no(.hostPrepare, "pack list --root /nonexistent"),
        no(.hostPrepare, "pack remove x:y --root $ROOT"),
        ok(.hostPrepare, "slice plan --root $ROOT"), no(.hostPrepare, "slice plan --weight 0 --root $ROOT"),
        ok(.hostPrepare, "slice apply --dry-run --root $ROOT"), no(.hostPrepare, "slice apply --restart sometimes --root $ROOT"),
        ok(.hostPrepare, "slice remove --dry-run --root $ROOT"), no(.hostPrepare, "slice remove --root /nonexistent"),
        ok(.hostPrepare, "slice generate $DIR --root $ROOT"), no(.hostPrepare, "slice generate /nonexistent --root $ROOT"),
        ok(.hostPrepare, "slice status --root $ROOT"), no(.hostPrepare, "slice status --shares 1 --root $ROOT"),
        ok(.dom0Partition, "plan --disk /dev/sda --root $ROOT"), no(.dom0Partition, "plan --disk /dev/sda --layout xs7 --root $ROOT"),
        ok(.dom0Partition, "apply --disk /dev/sda --dry-run --root $ROOT"), no(.dom0Partition, "apply --disk /dev/sda --root $ROOT"),
        ok(.xenCmdline, "--get-xen dom0_mem --root $ROOT"), no(.xenCmdline, "--bogus --root $ROOT"),
        ok(.suppPack, "info $PACK --root $ROOT"), no(.suppPack, "info /nonexistent.iso --root $ROOT"),
        ok(.suppPack, "verify $PACK --root $ROOT"), no(.suppPack, "verify $DIR --root $ROOT"),
        ok(.suppPack, "install $PACK --dry-run --root $ROOT"), no(.suppPack, "install /nonexistent.iso --root $ROOT"),
        ok(.suppPack, "list --root $ROOT"), no(.suppPack, "list --root /nonexistent"),
        no(.suppPack, "remove bad --root $ROOT"),
        ok(.controlSlice, "plan --root $ROOT"), no(.controlSlice, "plan --weight 0 --root $ROOT"),
        ok(.controlSlice, "apply --dry-run --root $ROOT"), no(.controlSlice, "apply --unit bad/name --root $ROOT"),
        ok(.controlSlice, "remove --dry-run --root $ROOT"), no(.controlSlice, "remove --bogus --root $ROOT"),
        ok(.controlSlice, "generate $DIR --root $ROOT"), no(.controlSlice, "generate --root $ROOT"),
        ok(.controlSlice, "status --root $ROOT"), no(.controlSlice, "status --slice bad --root $ROOT"),
        ok(.pcibackAgent, "once --dry-run --root $ROOT"), no(.pcibackAgent, "once --root /nonexistent"),
        no(.pcibackAgent, "run --root /nonexistent"),
        ok(.pcibackAgent, "health --root $ROOT"), no(.pcibackAgent, "health --root /nonexistent"),
        // Changes, last: apply, the first boot, the pack's removal, a device given back.
        ok(.hostPrepare, "apply $SPEC --root $ROOT"), no(.hostPrepare, "apply $BAD --root $ROOT"),
        no(.hostPrepare, "firstboot --spec /etc/none.yaml --root $ROOT"), ok(.hostPrepare, "firstboot --root $ROOT"),
        ok(.suppPack, "remove dom0kit:demo-tools --dry-run --root $ROOT"),
        ok(.pcibackAgent, "restore 0000:04:00.0 --root $ROOT"), no(.pcibackAgent, "restore zz --root $ROOT"),
        ok(.hostPrepare, "demo $DIR/demo"), no(.hostPrepare, "demo --root /tmp"),
    ]

    /// The command path a run names: the words before the first option, as far as they are commands.
    static func commandPath(_ run: Run) -> String {
        let words = run.arguments.prefix { !$0.hasPrefix("-") && !$0.hasPrefix("$") && !$0.hasPrefix("/") && !$0.contains(":") }
        let paths = Set(run.tool.commandPaths)
        for count in stride(from: words.count, through: 1, by: -1) where paths.contains(words.prefix(count).joined(separator: " ")) {
            return words.prefix(count).joined(separator: " ")
        }
        return run.tool.rawValue
    }

    @Test func everyCommandOfEveryToolHasARunAndARefusal() {
        for tool in Tool.tools {
            for path in tool.commandPaths {
                let runs = Self.runs.filter { $0.tool == tool && Self.commandPath($0) == path }
                #expect(runs.contains { $0.refused }, "\(tool.rawValue) \(path) has no refusal among the runs")
            }
        }
    }

    @Test func everyRunPrintsTheEnvelope() async throws {
        let directory = try TemporaryDirectory("dom0kit-json")
        let demo = try DemoHost.build(at: directory.appending("root"))
        let spec = try await Demo.writeSpec(for: demo, in: directory.path).spec
        try demo.host.write("/etc/dom0kit/host.yaml", try #require(try contents(spec)))  // firstboot's
        let bad = directory.appending("bad.yaml")
        try AtomicWriter.write(Array("boot:\n  hide: [zz]\n".utf8), to: bad, in: .system)
        let places = ["$ROOT": directory.appending("root").string, "$SPEC": spec.string, "$BAD": bad.string,
                      "$PACK": directory.appending("packs/dom0kit-demo-tools.iso").string]
        for run in Self.runs {
            let made = try TemporaryDirectory("dom0kit-json-dir")
            let arguments = run.arguments.map { word in
                (places.merging(["$DIR": made.path.string]) { $1 }).reduce(word) { $0.replacing($1.key, with: $1.value) }
            }
            let result = try await CommandRunner(timeout: .seconds(120))
                .run([FakeHostTools.executable.string, run.tool.rawValue] + arguments + ["--json"])
            let envelope: EnvelopeJSON<Ignored, Ignored>
            do { envelope = try .decode(result.stdout) } catch {
                Issue.record("\(run): not the envelope (\(error)): \(result.stdout.prefix(300)) \(result.stderr.prefix(300))")
                continue
            }
            #expect(envelope.tool == run.tool.rawValue, "\(run)")
            #expect(envelope.command == Self.commandPath(run), "\(run)")
            #expect(envelope.status == result.status, "\(run): the envelope's status is the exit status")
            if run.refused {
                #expect(result.status != 0, "\(run) was meant to be refused: \(result.stdout.prefix(300))")
                let error = try #require(envelope.error, "\(run): a refusal's envelope carries its error")
                #expect(error.status == result.status && !error.what.isEmpty, "\(run)")
                #expect(result.stderr.lowercased().contains("error"), "\(run): stderr keeps the text for people")
            } else {
                // health's FAIL is a report with exit 1, not an error.
                #expect(result.status == 0 || (envelope.error == nil && envelope.report != nil),
                        "\(run): \(result.stdout.prefix(300)) \(result.stderr.prefix(300))")
            }
        }
    }

    /// The multi-call binary answers an unknown tool's name with the envelope too.
    @Test func anUnknownToolIsAnEnvelopeOfDom0kit() async throws {
        let result = try await CommandRunner().run([BuiltProducts.executable("dom0kit").string, "bogus", "--json"])
        #expect(result.status == 64)
        let envelope = try EnvelopeJSON<Ignored, Ignored>.decode(result.stdout)
        #expect(envelope.tool == "dom0kit" && envelope.command == "dom0kit" && envelope.error?.what == "unknown tool 'bogus'")
    }

    /// docs/json.md's examples are envelopes, and every tool has one.
    @Test func theDocumentedExamplesAreEnvelopesOfEveryTool() throws {
        let page = FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent()
            .appending("docs/json.md")
        let text = try #require(try contents(page))
        let blocks = text.split(separator: "```json\n").dropFirst().map { $0.split(separator: "```").first ?? "" }
        var tools: Set<String> = []
        for block in blocks {
            let envelope = try EnvelopeJSON<Ignored, Ignored>.decode(String(block))
            #expect(Tool(rawValue: envelope.tool) != nil, "\(envelope.tool)")
            #expect(envelope.error == nil || envelope.error?.status == envelope.status, "\(block)")
            tools.insert(envelope.tool)
        }
        #expect(tools == Set(Tool.tools.map(\.rawValue)), "docs/json.md has an example of every tool")
    }
}
