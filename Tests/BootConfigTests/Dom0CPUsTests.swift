@testable import BootConfig
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// What xl 4.17 prints: captured in the xen-dom0-cpu scenario (Xen 4.17 under QEMU, -smp 4, two
/// NUMA nodes, dom0_max_vcpus=2-3 dom0_vcpus_pin dom0_nodes=1), and the same tables unpinned,
/// with an offline vCPU, or on every node.
enum XlOutputs {
    static let vcpuListPinned = """
        Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)
        Domain-0                             0     0    2   r--      14.2  2 / all
        Domain-0                             0     1    3   -b-       8.8  3 / all

        """
    static let vcpuListLoose = """
        Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)
        Domain-0                             0     0    0   r--       9.1  all / all
        Domain-0                             0     1    -   --p       0.0  all / all
        Domain-0                             0     2    1   -b-       6.0  all / all
        Domain-0                             0     3    3   -b-       6.0  all / all

        """
    static let listNodes = """
        Name                                        ID   Mem VCPUs\tState\tTime(s) NODE Affinity
        Domain-0                                     0   768     2     r-----      26.9 1

        """
    static let listAllNodes = listNodes.replacing("26.9 1", with: "26.9 all")
    static let credit2 = """
        Name                                ID Weight  Cap
        Domain-0                             0    512    0

        """
    static let credit = credit2.replacing("512    0", with: "256  300")
}

/// A stand-in for xl on PATH that keeps Domain-0's weight and cap in a file, and logs each call:
/// enough to show what the setter asks and in what order. Xen's real xl is exercised by the
/// xen-dom0-cpu e2e scenarios.
struct FakeXl {
    let directory: TemporaryDirectory
    var runner: CommandRunner {
        CommandRunner(environment: ["PATH": "\(directory.path):/usr/bin:/bin"])
    }
    var calls: [String] { get throws { (try contents(directory.appending("calls")) ?? "").split(separator: "\n").map(String.init) } }

    init(scheduler: String, weight: Int = 256, cap: Int = 0) throws {
        directory = try TemporaryDirectory("dom0kit-fake-xl")
        let place = try HostRoot(directory.path)
        try AtomicWriter.write(Array("scheduler=\(scheduler) weight=\(weight) cap=\(cap)\n".utf8), to: "/state", in: place)
        let script = """
            #!/bin/sh
            here=$(dirname "$0")
            . "$here/state"
            echo "$*" >> "$here/calls"
            case "$1" in
              info) echo "xen_scheduler          : $scheduler" ;;
              sched-credit|sched-credit2)
                [ "$1" = "sched-$scheduler" ] || { echo "libxl: error: wrong scheduler" >&2; exit 1; }
                shift 3
                while [ $# -gt 0 ]; do case "$1" in -w) weight=$2 ;; -c) cap=$2 ;; esac; shift 2; done
                echo "scheduler=$scheduler weight=$weight cap=$cap" > "$here/state"
                printf '%-33s %4s %6s %4s\\n' Name ID Weight Cap
                printf '%-33s %4d %6d %4d\\n' Domain-0 0 "$weight" "$cap" ;;
              *) exit 1 ;;
            esac

            """
        try AtomicWriter.write(Array(script.utf8), to: "/xl", in: place, mode: 0o755)
    }
}

@Suite("dom0's CPUs: vCPUs, pinning, nodes, granularity and Domain-0's weight")
struct Dom0CPUsTests {
    @Test(arguments: [
        ("4", "4", 4, 4), ("2-8", "2-8", 2, 8), ("2-", "2-", 2, nil), ("-8", "-8", nil, 8), ("1-1", "1", 1, 1),
    ] as [(String, String, Int?, Int?)])
    func vcpuCountsFollowXensFourForms(value: String, canonical: String, minimum: Int?, maximum: Int?) throws {
        let vcpus = try Dom0VCPUs(parsing: value)
        #expect(vcpus.description == canonical)
        #expect(vcpus.minimum == minimum && vcpus.maximum == maximum)
    }

    @Test(arguments: ["0", "", "-", "8-2", "x", "4-x", "1-2-3", "+4", " 4", "5000", "0-4"])
    func malformedVCPUCountsAreRefused(value: String) {
        #expect(throws: Dom0Error.self) { try Dom0VCPUs(parsing: value) }
    }

    @Test func xenClampsTheCPUsDom0MayUseIntoTheRange() throws {
        let range = try Dom0VCPUs(parsing: "2-8")
        #expect(range.count(onCPUs: 1) == 2 && range.count(onCPUs: 4) == 4 && range.count(onCPUs: 64) == 8)
        #expect(range.allows(4) && !range.allows(1) && !range.allows(9))
        #expect(try Dom0VCPUs(parsing: "-8").count(onCPUs: 3) == 3)
    }

    @Test(arguments: [("0", "0"), ("0,1", "0,1"), ("1,0,1", "1,0"), ("0,relaxed", "0,relaxed"), ("strict,2", "2,strict")])
    func nodesAreProximityDomainsWithAnAffinityWord(value: String, canonical: String) throws {
        #expect(try Dom0Nodes(parsing: value).description == canonical)
    }

    @Test(arguments: ["", "relaxed", "-1", "+1", "0,,1", "node0", "4294967296", "0,loose"])
    func malformedNodeListsAreRefused(value: String) {
        #expect(throws: Dom0Error.self) { try Dom0Nodes(parsing: value) }
    }

    @Test(arguments: [
        ("dom0_max_vcpus=2-8", true), ("dom0_max_vcpus=0", false), ("dom0_vcpus_pin", true), ("dom0_vcpus_pin=0", true),
        ("dom0_vcpus_pin=maybe", false), ("dom0_nodes=0,relaxed", true), ("dom0_nodes=", false), ("sched-gran=core", true),
        ("sched-gran=thread", false), ("sched-gran", false),
    ])
    func xenCmdlineChecksTheCPUKnobsOnXensLine(argument: String, valid: Bool) {
        #expect(((try? BootSetting(parsing: argument, on: .xen)) != nil) == valid)
    }

    @Test func settingsReplaceXenServersVCPURangeAndRemoveThePinWhenAskedTo() async throws {
        let host = try XenServerHost("xcpng-8.3-uefi.grub.cfg")
        #expect(try await host.editor.configured(.xen).values(of: "dom0_max_vcpus") == ["dom0_max_vcpus=1-16"])
        var settings = Dom0CPUSettings()
        settings.vcpus = try Dom0VCPUs(parsing: "4")
        settings.pin = true
        settings.nodes = try Dom0Nodes(parsing: "0,relaxed")
        settings.granularity = .core
        try await host.run(settings.edits)
        let xen = try await host.editor.configured(.xen)
        #expect(xen.values(of: "dom0_max_vcpus") == ["dom0_max_vcpus=4"], "one dom0_max_vcpus, the new one: \(xen)")
        #expect(xen.values(of: "dom0_vcpus_pin") == ["dom0_vcpus_pin"])
        #expect(xen.value(of: "dom0_nodes") == "0,relaxed" && xen.value(of: "sched-gran") == "core")
        settings = Dom0CPUSettings()
        settings.pin = false
        try await host.run(settings.edits)
        #expect(try await host.editor.configured(.xen).values(of: "dom0_vcpus_pin").isEmpty)
    }

    @Test func xlTablesAreReadFromTheRight() throws {
        let facts = XenFacts(info: "nr_nodes : 2\n", dmesg: nil, vcpuList: XlOutputs.vcpuListPinned, domainList: XlOutputs.listNodes,
                             schedTable: XlOutputs.credit2)
        #expect(facts.dom0VCPUs?.map(\.hardAffinity) == ["2", "3"])
        #expect(facts.dom0VCPUs?.map(\.cpu) == [2, 3])
        #expect(facts.dom0NodeAffinity == "1")
        #expect(facts.dom0Sched == SchedParameters(weight: 512, cap: 0))
        let loose = XenFacts(info: nil, dmesg: nil, vcpuList: XlOutputs.vcpuListLoose)
        #expect(loose.dom0VCPUs?.count == 4 && loose.dom0VCPUs?[1].cpu == nil, "an offline vCPU is one of dom0's")
        #expect(SchedParameters(xlTable: XlOutputs.credit) == SchedParameters(weight: 256, cap: 300))
        #expect(SchedParameters(xlTable: "libxl: error\n") == nil)
        #expect(XenFacts(info: nil, dmesg: nil, vcpuList: "Name ID\ngarbage\n").dom0VCPUs == nil)
    }

    @Test func theConfigurationFileReadsBackWhatItWasWrittenAs() throws {
        let sched = try Dom0Sched(weight: 512, cap: 0)
        #expect(try Dom0Sched.parse(sched.fileText, file: "dom0-sched.conf") == sched)
        #expect(try Dom0Sched.parse("Weight=768\n", file: "f") == Dom0Sched(weight: 768, cap: nil))
    }

    @Test(arguments: [
        ("Weight=0\n", "f:1"), ("# c\nWeight=70000\n", "f:2"), ("Weight=abc\n", "f:1"), ("Share=5\n", "f:1"), ("512\n", "f:1"),
        ("# nothing\n", "f"), ("Weight=-1\n", "f:1"), ("Cap=65536\n", "f:1"),
    ])
    func aBadConfigurationNamesItsLine(text: String, location: String) {
        #expect { try Dom0Sched.parse(text, file: "f") } throws: { ($0 as? Dom0Error)?.location == location }
    }

    @Test func theSetterSetsTheWeightInCredit2ThenDoesNothingTheSecondTime() async throws {
        let xl = try FakeXl(scheduler: "credit2")
        let setter = Dom0SchedSetter(runner: xl.runner)
        let first = try await setter.apply(try Dom0Sched(weight: 512, cap: nil))
        #expect(first.changed && first.scheduler == "credit2" && first.before.weight == 256 && first.after.weight == 512)
        #expect(try xl.calls == ["info", "sched-credit2 -d 0", "sched-credit2 -d 0 -w 512", "info", "sched-credit2 -d 0"])
        let second = try await setter.apply(try Dom0Sched(weight: 512, cap: nil))
        #expect(!second.changed && second.text.contains("nothing to do"))
        #expect(try xl.calls.filter { $0.contains("-w") }.count == 1, "the second run sets nothing")
    }

    @Test func theSetterUsesSchedCreditAndTheCapUnderCredit() async throws {
        let xl = try FakeXl(scheduler: "credit")
        let outcome = try await Dom0SchedSetter(runner: xl.runner).apply(try Dom0Sched(weight: 768, cap: 300))
        #expect(outcome.after == SchedParameters(weight: 768, cap: 300))
        #expect(try xl.calls.contains("sched-credit -d 0 -w 768 -c 300"))
    }

    @Test func aSchedulerWithoutWeightsIsAClearFailure() async throws {
        let xl = try FakeXl(scheduler: "rtds")
        await #expect { try await Dom0SchedSetter(runner: xl.runner).apply(try Dom0Sched(weight: 512, cap: nil)) } throws: { error in
            let error = error as? Dom0Error
            return error?.status == .failed && error?.what.contains("Xen runs the rtds scheduler") == true
        }
        #expect(try xl.calls == ["info"], "nothing is set")
    }
}
