import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// pciback-agent's daemon and units, for real.
@Suite("pciback-agent run, its service and udev rule")
struct PcibackAgentDaemonTests {
    static let repository = FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent()

    /// The agent under umockdev: real libudev events from the testbed, a Python script playing
    /// the kernel's side of binding.
    @Test func theDaemonBindsAtStartOnUdevEventsAndInAStormReloadsSleepsAndStops() async throws {
        let links = try TemporaryDirectory("dom0kit-agent")
        try FileSystem.symlink(BuiltProducts.executable("dom0kit"), at: links.appending("pciback-agent"))
        let script = Fixtures.directory.appending("umockdev/agent-testbed.py").string
        let result = try await CommandRunner(timeout: .seconds(300), environment: ["STORM": "64"])
            .run(["umockdev-wrapper", "/usr/bin/python3", script, links.appending("pciback-agent").string])
        #expect(result.status == 0, "\(result.stderr)")
        struct Findings: Decodable {
            var start: Bool, state: Bool, untouched: Bool, hotplug: Bool, storm: Bool, reload: Bool
            var idle_cpu_ticks: Int
            var exit: Int
            var stderr: String
        }
        let findings = try JSONDecoder().decode(Findings.self, from: Data(result.stdout.utf8))
        #expect(findings.start, "the first pass binds the hidden NIC: \(findings.stderr)")
        #expect(findings.state, "the pass is written to /run/dom0kit/pciback.json")
        #expect(findings.untouched, "a device no rule names stays with dom0")
        #expect(findings.hotplug, "a hot-plugged device is bound on its udev add event")
        #expect(findings.storm, "64 VFs appearing at once are all bound")
        #expect(findings.reload, "SIGHUP reads the rules again")
        // ≈ 0: a spinning loop would use all 200 ticks of the 2 s; a tick of scheduling noise is allowed.
        #expect(findings.idle_cpu_ticks <= 2, "idle, it sleeps in poll(2)")
        #expect(findings.exit == 0, "SIGTERM stops it cleanly")
    }

    @Test(arguments: ["pciback-agent.service", "host-prepare-firstboot.service"])
    func theServiceVerifiesWithNothingOnStderr(name: String) async throws {
        let directory = try TemporaryDirectory("dom0kit-units")
        let links = try TemporaryDirectory("dom0kit-bin")
        for tool in ["pciback-agent", "host-prepare"] {
            try FileSystem.symlink(BuiltProducts.executable("dom0kit"), at: links.appending(tool))
        }
        // As the installer does: the unit names the tool in the bin directory it installs to.
        let unit = try #require(try contents(Self.repository.appending("units/\(name)")))
            .replacing("/usr/local/bin/", with: links.path.string + "/")
        try AtomicWriter.write(Array(unit.utf8), to: directory.appending(name), in: .system)
        let result = try await CommandRunner(environment: ["SYSTEMD_UNIT_PATH": directory.path.string + ":"])
            .run(["systemd-analyze", "verify", directory.appending(name).string], effect: .readOnly)
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "systemd-analyze verify said: \(result.stderr)")
    }

    @Test func theAgentIsNotifyAndFirstBootRunsOnceBeforeIt() throws {
        let agent = try #require(try contents(Self.repository.appending("units/pciback-agent.service")))
        #expect(agent.contains("Type=notify"))
        let firstBoot = try #require(try contents(Self.repository.appending("units/host-prepare-firstboot.service")))
        for line in ["Type=oneshot", "ConditionPathExists=/etc/dom0kit/host.yaml", "ConditionPathExists=!/var/lib/dom0kit/firstboot.done",
                     "After=local-fs.target systemd-udevd.service", "Before=pciback-agent.service multi-user.target",
                     "ExecStart=/usr/local/bin/host-prepare firstboot --reboot"] {
            #expect(firstBoot.split(separator: "\n").contains(Substring(line)), "\(line)")
        }
    }

    @Test func theUdevRuleWantsTheServiceOnEveryPCIAdd() throws {
        let rule = try #require(try contents(Self.repository.appending("units/85-dom0kit-pciback.rules")))
        let lines = rule.split(separator: "\n").filter { !$0.hasPrefix("#") }
        // Every event but remove: a bind event (the agent's own) recomputes the device's tags and
        // properties, and a rule for add alone would lose them there (seen on the first real boot).
        #expect(lines == [#"ACTION!="remove", SUBSYSTEM=="pci", TAG+="systemd", ENV{SYSTEMD_WANTS}+="pciback-agent.service""#])
    }
}
