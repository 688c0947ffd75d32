import ControlSlice
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// A fake systemd host: cgroup v1 or v2, a systemd version (or none), member units that run /bin/true.
struct SliceTestHost {
    let test: TestHost
    var root: HostRoot { test.root }

    init(cgroup: Int, systemd: Int?, units: [String] = ["xapi", "sshd", "xenstored"]) throws {
        test = try TestHost()
        if cgroup == 2 { try test.host.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n") }
        if let systemd { try test.host.write(FilePath("/usr/lib/systemd/libsystemd-shared-\(systemd).so"), "") }
        for unit in units {
            try test.host.write(FilePath("/usr/lib/systemd/system/\(unit).service"),
                                "[Unit]\nDescription=\(unit)\n\n[Service]\nExecStart=/bin/true\n")
        }
    }

    var planner: SlicePlanner { SlicePlanner(root: root) }

    @discardableResult
    func apply(_ config: SliceConfig = SliceConfig()) async throws -> Plan {
        let plan = try planner.planApply(config).plan
        let report = await plan.apply(ApplyContext(root: root))
        if let error = report.error { throw error }
        return plan
    }

    /// Every path under the root with its content (directories as "dir").
    func tree() throws -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ path: FilePath) throws {
            for name in try FileSystem.entries(root.path.appending(path.components)) {
                let child = path.appending(name)
                let real = root.path.appending(child.components)
                if try FileSystem.status(real)?.isDirectory == true {
                    result[child.string] = "dir"
                    try walk(child)
                } else {
                    result[child.string] = try contents(real) ?? ""
                }
            }
        }
        try walk("/")
        return result
    }

    /// systemd-analyze verify over the root's unit directories: its stderr (which must be empty).
    func verify(_ units: [String]) async throws -> CommandResult {
        let path = "\(root.path)/etc/systemd/system:\(root.path)/usr/lib/systemd/system:"
        return try await CommandRunner(environment: ["SYSTEMD_UNIT_PATH": path]).run(["systemd-analyze", "verify"] + units,
                                                                                      effect: .readOnly)
    }
}

@Suite("CPU weight and shares convert as systemd converts them")
struct ConversionTests {
    @Test(arguments: [(2, 1), (1024, 100), (10240, 1000), (262144, 10000)])
    func sharesToWeight(shares: Int, weight: Int) { #expect(CPUWeight.fromShares(shares) == weight) }

    @Test(arguments: [(1, 10), (100, 1024), (1000, 10240), (10000, 102400)])
    func weightToShares(weight: Int, shares: Int) { #expect(CPUWeight.toShares(weight) == shares) }
}

@Suite("The control-slice config")
struct SliceConfigTests {
    @Test func aFullConfigReads() throws {
        let config = try SliceConfig.parse("""
            # control plane
            [Slice]
            Name=control.slice
            CPUShares=10240
            StartupCPUWeight=2000
            MemoryMin=512M
            IOWeight=500

            [Members]
            Units=xapi sshd.service
            Units=xenstored
            """, file: "/etc/dom0kit/control-slice.conf")
        #expect(config.cpuWeight == 1000 && config.startupCPUWeight == 2000 && config.memoryMin == "512M" && config.ioWeight == 500)
        #expect(config.members == ["xapi.service", "sshd.service", "xenstored.service"])
    }

    @Test(arguments: [
        ("[Slice]\nCPUWeigth=1000\n", ":2", "unknown key CPUWeigth="),
        ("[Slice]\nCPUWeight=0\n", ":2", "CPUWeight=0 is out of range"),
        ("[Slice]\nCPUWeight=10001\n", ":2", "CPUWeight=10001 is out of range"),
        ("[Slice]\nCPUWeight=99999999999999999999\n", ":2", "CPUWeight=\"99999999999999999999\": the value is too large"),
        ("[Slice]\nCPUWeight=lots\n", ":2", "CPUWeight=\"lots\": the value is not a whole number"),
        ("[Members]\nUnits=xapi ../../etc/passwd\n", ":2", "is not a unit name"),
        ("[Service]\n", ":1", "unknown section [Service]"),
        ("CPUWeight=5\n", ":1", "outside a section"),
        ("[Slice]\nName=control.service\n", ":2", "is not a slice"),
        ("[Slice]\njunk\n", ":2", "expected KEY=VALUE"),
    ])
    func badConfigsNameFileAndLine(text: String, line: String, message: String) throws {
        let error = try #require(throws: Dom0Error.self) { try SliceConfig.parse(text, file: "/etc/dom0kit/control-slice.conf") }
        #expect(error.location == "/etc/dom0kit/control-slice.conf" + line)
        #expect(error.what.contains(message), "\(error)")
        #expect(error.status == .usage)
    }

    @Test func anEmptyUnitsLineResetsTheList() throws {
        let config = try SliceConfig.parse("[Members]\nUnits=xapi\nUnits=\nUnits=sshd\n", file: "f")
        #expect(config.members == ["sshd.service"])
    }
}

@Suite("control-slice writes units systemd accepts")
struct SliceUnitTests {
    @Test(arguments: [(2, 252), (1, 252)] as [(Int, Int)])
    func modernHostsGetCPUWeightAndVerifyCleanly(cgroup: Int, systemd: Int) async throws {
        let host = try SliceTestHost(cgroup: cgroup, systemd: systemd)
        var config = SliceConfig()
        config.cpuWeight = CPUWeight.fromShares(10240)
        config.ioWeight = 500
        config.memoryMin = "256M"
        try await host.apply(config)
        let slice = try #require(try host.root.readText("/etc/systemd/system/control.slice"))
        #expect(slice.contains("CPUWeight=1000\n"))
        #expect(!slice.contains("CPUShares"), "never CPUShares= where systemd takes CPUWeight=")
        #expect(slice.contains("MemoryMin=256M") == (cgroup == 2), "MemoryMin= is a cgroup v2 control")
        #expect(try host.root.readText("/etc/systemd/system/xapi.service.d/50-dom0kit-slice.conf")
                == "# Written by Dom0Kit (control-slice): moves xapi.service into control.slice.\n[Service]\nSlice=control.slice\n")
        let result = try await host.verify(["control.slice", "xapi.service", "sshd.service", "xenstored.service"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "systemd-analyze verify said: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func anOldCgroupV1SystemdGetsCPUShares() async throws {
        let host = try SliceTestHost(cgroup: 1, systemd: nil)
        try await host.apply()
        let slice = try #require(try host.root.readText("/etc/systemd/system/control.slice"))
        #expect(slice.contains("CPUShares=10240\n") && !slice.contains("CPUWeight"))
    }

    @Test func theShippedSliceIsWhatApplyWritesOnCgroupV2() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        let rendered = try host.planner.render(SliceConfig()).files["control.slice"]
        let shipped = try contents(FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent()
            .appending("units/control.slice"))
        #expect(rendered == shipped)
    }

    @Test func membersTheHostLacksAreReportedNotWritten() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        var config = SliceConfig()
        config.members = ["xapi.service", "v6d.service"]
        let files = try host.planner.render(config)
        #expect(files.members == ["xapi.service"])
        #expect(files.missing == ["v6d.service"])
        #expect(files.files.keys.sorted() == ["control.slice", "xapi.service.d/50-dom0kit-slice.conf"])
        // Default members too: those present are written, the others reported.
        let defaults = try host.planner.render(SliceConfig())
        #expect(defaults.members == ["xapi.service", "xenstored.service", "sshd.service"])
        #expect(defaults.missing.contains("xenopsd-xc.service") && !defaults.missing.contains("xapi.service"))
    }

    @Test func applyTwiceWritesNothingTheSecondTime() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try await host.apply()
        let tree = try host.tree()
        #expect(try host.planner.planApply(SliceConfig()).plan.isEmpty)
        try await host.apply()
        #expect(try host.tree() == tree)
    }

    @Test func generateWritesWhatApplyWrites() async throws {
        let host = try SliceTestHost(cgroup: 1, systemd: 252)
        try await host.apply()
        let output = try TemporaryDirectory("dom0kit-generator")
        let files = try host.planner.generate(SliceConfig(), into: output.path)
        for (relative, content) in files.files {
            #expect(try contents(output.appending(relative)) == content)
            #expect(try host.root.readText(FilePath("/etc/systemd/system/" + relative)) == content)
        }
    }

    @Test func removeRestoresTheTreeExactly() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        // An operator's own drop-in beside Dom0Kit's stays.
        try host.test.host.write("/etc/systemd/system/sshd.service.d/10-local.conf", "[Service]\nNice=5\n")
        let before = try host.tree()
        try await host.apply()
        #expect(try host.tree() != before)
        let plan = try host.planner.planRemove()
        let report = await plan.apply(ApplyContext(root: host.root))
        #expect(report.succeeded, "\(report.text)")
        #expect(try host.tree() == before)
        #expect(try host.planner.planRemove().isEmpty)
    }

    /// The record says what remove deletes, so a record naming anything control-slice never writes
    /// (/etc/os-release, a path with ..) is refused whole, and nothing is deleted.
    @Test(arguments: ["/etc/os-release", "/etc/systemd/system/../../os-release", "/etc/systemd/system/xapi.service",
                      "/etc/systemd/system/xapi.service.d/10-local.conf", "/var/lib/dom0kit/control-slice.record"])
    func aRecordListingFilesControlSliceNeverWritesIsRefused(listed: String) async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try host.test.host.write("/etc/os-release", "ID=debian\n")
        try host.test.host.write("/etc/systemd/system/xapi.service", "[Service]\nExecStart=/bin/true\n")
        try await host.apply()
        let record = try #require(try host.root.readText(SlicePlanner.record))
        try host.test.host.write(SlicePlanner.record, record.replacing("\"files\" : [", with: "\"files\" : [\n    \"\(listed)\","))
        let before = try host.tree()
        let error = try #require(throws: Dom0Error.self) { try host.planner.planRemove() }
        #expect(error.status == .refused)
        #expect(error.what.contains("never writes"), "\(error)")
        #expect(error.location == SlicePlanner.record.string)
        #expect(try host.tree() == before)
    }

    @Test func aDirectoryControlSliceNeverMakesIsRefused() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try await host.apply()
        let record = try #require(try host.root.readText(SlicePlanner.record))
        try host.test.host.write(SlicePlanner.record, record.replacing("\"directories\" : [", with: "\"directories\" : [\n    \"/home\","))
        #expect(throws: Dom0Error.self) { try host.planner.planRemove() }
    }

    @Test func aDropInTheOperatorRewroteIsLeftByRemove() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try await host.apply()
        let dropIn: FilePath = "/etc/systemd/system/xapi.service.d/50-dom0kit-slice.conf"
        try host.test.host.write(dropIn, "[Service]\nSlice=mine.slice\n")
        let report = await (try host.planner.planRemove()).apply(ApplyContext(root: host.root))
        #expect(report.succeeded, "\(report.text)")
        #expect(try host.root.readText(dropIn) == "[Service]\nSlice=mine.slice\n", "no longer Dom0Kit's, so kept")
        #expect(try !host.root.exists("/etc/systemd/system/control.slice"))
    }

    @Test func changingMembersDeletesTheDropInsNoLongerWanted() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try await host.apply()
        var fewer = SliceConfig()
        fewer.members = ["xapi.service"]
        try await host.apply(fewer)
        #expect(try !host.root.exists("/etc/systemd/system/sshd.service.d"))
        #expect(try host.root.exists("/etc/systemd/system/xapi.service.d/50-dom0kit-slice.conf"))
    }

    @Test func statusComparesWeightsAndFindsMembersProcesses() async throws {
        let host = try SliceTestHost(cgroup: 2, systemd: 252)
        try host.test.host.write("/sys/fs/cgroup/control.slice/cpu.weight", "100\n")
        try host.test.host.write("/proc/1201/cgroup", "0::/control.slice/xapi.service\n")
        try host.test.host.write("/proc/1202/cgroup", "0::/system.slice/sshd.service\n")
        let status = try SliceStatus.read(SliceConfig(), members: ["xapi.service", "sshd.service", "xenstored.service"], root: host.root)
        #expect(status.configuredWeight == 1000 && status.liveWeight == 100)
        #expect(status.members.map(\.state.rawValue) == ["in slice", "outside the slice", "not running"])
        #expect(status.members[1].cgroup == "/system.slice/sshd.service")
    }
}
