import ArgumentParser
import BootConfig
import Dom0Core
import Health

/// `pciback-agent health` and `host-prepare health`: is the host fit for passthrough?
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check whether the host is fit for passthrough: PASS, WARN or FAIL per check.",
        discussion: """
            Checks: running as Xen dom0; the IOMMU (under Xen from xl info's virt_caps and xl dmesg, \
            since dom0 sees none in sysfs; natively from /sys/class/iommu, IOMMU groups and the \
            DMAR/IVRS tables); interrupt remapping; configured against running boot arguments; \
            dom0_mem; each hidden device present, on its driver, its group viable (USB controllers \
            and RMRRs warned about); control.slice and its members; the dom0 disk layout; installed \
            packs' requirements. A check whose source is missing says "cannot tell" (WARN).

            Exit status: 0 when nothing FAILs, 1 otherwise.
            """)

    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        let runner = CommandRunner()
        let report = await HealthChecks.run(HealthContext(root: root, runner: runner, xen: await XenFacts.read(root, runner: runner)))
        print(host.json ? try Output.json(report) : report.text, terminator: "")
        if report.worst == .fail { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}
