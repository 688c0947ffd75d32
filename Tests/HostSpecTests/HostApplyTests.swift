import BootConfig
import Dom0Core
import Dom0KitDemo
import FakeHost
import FoundationEssentials
import Health
import HostSpec
import PCIDevices
import SuppPack
import SystemPackage
import Testing
import TestSupport

/// The demo host in a temporary directory, with its spec (DIR/host.yaml) and pack written.
struct DemoFixture {
    let directory: TemporaryDirectory
    let demo: DemoHost
    var root: HostRoot { demo.host.root }
    /// The demo host's kernel (one, so failures injected into it are the applier's too).
    let kernel: KernelSimulator
    var specPath: FilePath { directory.appending("host.yaml") }

    init() throws {
        directory = try TemporaryDirectory("dom0kit-spec")
        demo = try DemoHost.build(at: directory.appending("root"))
        kernel = KernelSimulator(demo.host)
    }

    /// Writes the demo spec and returns it read back.
    func spec() async throws -> HostSpec {
        _ = try await Demo.writeSpec(for: demo, in: directory.path)
        return try HostSpec.load(specPath)
    }

    /// Dom0Kit's units, as the installer puts them on a host.
    func installUnits() throws {
        for name in [AgentPlanner.unit, Dom0Sched.unit] {
            let unit = try #require(try contents(SpecParsingTests.examples.removingLastComponent().removingLastComponent()
                .appending("units/\(name)")))
            try demo.host.write(FilePath("/usr/local/lib/systemd/system/\(name)"), unit)
        }
    }

    var applier: HostApplier { HostApplier(context: ApplyContext(root: root, sysfs: kernel)) }
}

@Suite("host-prepare plan, apply and check on the demo host")
struct HostApplyTests {
    @Test func thePlanTakesEachModuleInTheSafeOrder() async throws {
        let host = try DemoFixture()
        let spec = try await host.spec()
        let before = try await treeSnapshot(host.root)
        let plan = try await HostPlanner(root: host.root).plan(spec)
        #expect(plan.sections.map(\.part.rawValue) == ["disk", "packs", "boot", "control_slice", "agent", "devices"])
        #expect(plan.sections.allSatisfy { !$0.plan.isEmpty })
        #expect(plan.needsReboot)
        #expect(plan.plan.changes.first?.part == .disk)
        #expect(plan.plan.changes.last?.summary == "as pciback-agent once would")
        #expect(plan.text.contains("agent:\n  Plan: 1 change\n"))
        // The demo booted with nothing hidden: XAPI would call each device the spec hides so.
        #expect(plan.sections.first { $0.part == .boot }?.notes.filter { $0.contains("dom0 access") }
                == ["0000:01:00.0", "0000:01:00.1", "0000:04:00.0"].map { "\($0): dom0 access enabled → disable_on_reboot" })
        #expect(try await treeSnapshot(host.root) == before, "planning changed nothing")
    }

    /// The dom0 section: Xen's arguments with the boot section's (XenServer's dom0_max_vcpus=1-8
    /// replaced, not doubled), then Domain-0's weight in its file with the unit that sets it at boot.
    @Test func theDom0SectionWritesXensArgumentsAndTheWeightUnit() async throws {
        let host = try DemoFixture()
        try host.installUnits()
        let spec = try HostSpec.parse("dom0:\n  vcpus: 4\n  pin: true\n  nodes: [0]\n  weight: 512\n", file: "host.yaml")
        let plan = try await HostPlanner(root: host.root).plan(spec)
        #expect(plan.sections.map(\.part) == [.boot, .dom0])
        #expect(plan.sections.last?.plan.changes.map(\.summary) == ["Domain-0's scheduler parameters (weight 512)", "enable \(Dom0Sched.unit)"])
        let report = try await host.applier.apply(spec, from: "host.yaml")
        #expect(report.succeeded && report.needsReboot, "\(report.text)")
        let xen = try await BootEditor(root: host.root).configured(.xen)
        #expect(xen.values(of: BootKnob.dom0MaxVCPUs) == ["dom0_max_vcpus=4"])
        #expect(xen.tokens.suffix(3) == ["dom0_max_vcpus=4", "dom0_vcpus_pin", "dom0_nodes=0"])
        #expect(try Dom0Sched.load(host.root) == Dom0Sched(weight: 512, cap: nil))
        #expect(try host.root.exists(FilePath("/etc/systemd/system/multi-user.target.wants/\(Dom0Sched.unit)")))
        let again = try await host.applier.apply(spec, from: "host.yaml")
        #expect(again.nothingToDo, "\(again.text)")
        let check = await HostCheck.run(spec, HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil)))
        #expect(check.results.filter { $0.what.hasPrefix("spec:") }.map(\.status) == [.pass, .pass], "\(check.text)")
    }

    @Test func applyThenApplyAgainLeavesNothingToDoAndTheTreeAsItWas() async throws {
        let host = try DemoFixture()
        let spec = try await host.spec()
        let first = try await host.applier.apply(spec, from: host.specPath.string)
        #expect(first.succeeded, "\(first.text)")
        #expect(first.needsReboot)
        #expect(try host.root.exists(ApplyJournal.path) == false, "a finished apply leaves no journal")
        for bdf in ["0000:01:00.0", "0000:01:00.1", "0000:04:00.0"] {
            #expect(try PCIBus(root: host.root).device(BDF(bdf)!)?.driver == "pciback")
        }
        let after = try await treeSnapshot(host.root)
        let again = try await host.applier.apply(spec, from: host.specPath.string)
        #expect(again.nothingToDo && again.apply == nil && !again.needsReboot)
        #expect(again.text.contains("Nothing to do"))
        #expect(try await treeSnapshot(host.root) == after, "byte-identical")
    }

    @Test func checkPassesOnTheAppliedHostAndFailsOnceAHiddenDeviceIsUnbound() async throws {
        let host = try DemoFixture()
        let spec = try await host.spec()
        let context = HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil))
        let before = await HostCheck.run(spec, context)
        #expect(before.worst == .fail, "nothing applied yet")
        #expect(before.results.first { $0.what == "spec: boot" }?.status == .fail)
        _ = try await host.applier.apply(spec, from: host.specPath.string)
        let applied = await HostCheck.run(spec, context)
        #expect(applied.worst != .fail, "\(applied.text)")
        #expect(applied.results.filter { $0.what.hasPrefix("spec: ") }.allSatisfy { $0.status == .pass })
        #expect(applied.results.contains { $0.what == "spec: pack dom0kit:demo-tools" && $0.status == .pass })
        // Behind host-prepare's back, the GPU goes back to dom0's driver.
        try host.kernel.write("0000:01:00.0", to: "/sys/bus/pci/drivers/pciback/unbind", in: host.root)
        let unbound = await HostCheck.run(spec, context)
        #expect(unbound.worst == .fail)
        #expect(unbound.results.first { $0.what == "hidden device 0000:01:00.0" }?.status == .fail)
        #expect(unbound.results.first { $0.what == "spec: devices" }?.status == .fail)
    }

    /// A newer version of the spec's pack installed: apply refuses it (exit 2), so check FAILs it
    /// too — both by the one standing PackStanding decides (check used to pass it).
    @Test func aNewerInstalledPackFailsCheckAsApplyRefusesIt() async throws {
        let host = try DemoFixture()
        let spec = try await host.spec()
        _ = try await host.applier.apply(spec, from: host.specPath.string)
        let record: FilePath = "/etc/xensource/installed-repos/dom0kit:demo-tools/dom0kit.json"
        let installed = try #require(try host.root.readText(record))
        try host.demo.host.write(record, installed.replacing(#""version" : "1.0.0""#, with: #""version" : "1.1.0""#))
        #expect(try PackRecords.read("dom0kit:demo-tools", host.root)?.version == "1.1.0")
        let refused = try await #require(throws: Dom0Error.self) { try await host.applier.apply(spec, from: host.specPath.string) }
        #expect(refused.status == .refused)
        #expect(refused.what.contains("newer than 1.0.0"))
        let context = HealthContext(root: host.root, xen: XenFacts(info: nil, dmesg: nil))
        let checked = await HostCheck.run(spec, context)
        let pack = try #require(checked.results.first { $0.what == "spec: pack dom0kit:demo-tools" })
        #expect(pack.status == .fail, "\(checked.text)")
        #expect(pack.hint?.contains("1.1.0 installed, newer than the spec's 1.0.0") == true)
        #expect(checked.worst == .fail)
        // The other modules are still judged, one line each.
        #expect(checked.results.first { $0.what == "spec: control_slice" }?.status == .pass)
    }

    /// A spec refused while planning leaves the host as it was: not even the journal's directory.
    @Test func aRefusedApplyLeavesTheTreeByteIdentical() async throws {
        let fixture = try DemoFixture()
        let spec = try HostSpec.parse("packs:\n  sources: [/nonexistent/dom0kit-pack.iso]\n", file: "host.yaml")
        let before = try await treeSnapshot(fixture.root)
        #expect(try fixture.root.exists(ApplyJournal.path.removingLastComponent()) == false)
        await #expect(throws: Dom0Error.self) { try await fixture.applier.apply(spec, from: "host.yaml") }
        #expect(try await treeSnapshot(fixture.root) == before)
    }

    @Test func aFailedStepLeavesTheJournalSayingWhereItStopped() async throws {
        let host = try DemoFixture()
        var spec = try await host.spec()
        spec.disk = nil
        spec.packs = nil
        // The NIC's driver answers EBUSY to the first write and every retry: the bind step, the last, fails.
        try host.kernel.injectFailure(.resourceBusy, at: "/sys/bus/pci/drivers/e1000e/unbind", times: 6)
        let report = try await host.applier.apply(spec, from: host.specPath.string)
        #expect(!report.succeeded)
        let journal = try #require(try ApplyJournal.read(host.root))
        #expect(journal.done == journal.steps.count - 1)
        #expect(journal.failure?.contains("0000:04:00.0") == true)
        #expect(journal.summary.contains("stopped after step \(journal.done) of \(journal.steps.count)"))
        // The report says which step failed and why, once, for the log and the JSON (scripts and
        // the Ansible module show it as it is).
        let failure = try #require(report.failure)
        #expect(failure.hasPrefix("step \(journal.steps.count) of \(journal.steps.count) failed: devices: "))
        #expect(failure.contains("0000:04:00.0"))
        // In the JSON envelope the error's parts stay apart, the step named in its what.
        let error = try #require(report.failedStep)
        #expect(error.description == failure)
        #expect(error.what.hasPrefix("step \(journal.steps.count) of \(journal.steps.count) failed: devices: "))
        #expect(error.why?.contains("EBUSY") == true || error.why?.contains("busy") == true, "\(error)")
        // The next apply says it is finishing that one, and does.
        let next = try await host.applier.apply(spec, from: host.specPath.string)
        #expect(next.resumed == journal)
        #expect(next.succeeded)
        #expect(try ApplyJournal.read(host.root) == nil)
    }
}
