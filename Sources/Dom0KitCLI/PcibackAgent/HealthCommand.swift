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
            Checks: running as Xen dom0; hardware virtualisation (natively vmx/svm and a read-write \
            /dev/kvm; under Xen xl info's virt_caps); the IOMMU in firmware (ACPI DMAR or IVRS) and \
            enabled (under Xen from xl info and xl dmesg, since dom0 sees none in sysfs; natively \
            IOMMU groups, with the argument to add or remove); interrupt remapping; /dev/net/tun and \
            /dev/vhost-net; the cgroup controllers control.slice (and natively QEMU) needs; \
            configured against running boot arguments; dom0_mem, its size and xl's autoballoon; \
            dom0's vCPUs, pinning, NUMA nodes and weight; dom0 access to hidden devices in XAPI's \
            words; each hidden device present, on its driver, its group viable (USB controllers and \
            RMRRs warned about); control.slice and its members; device models outside a slice; the \
            dom0 disk layout; / and /var/log used (WARN at 80 %, FAIL at 90 %); installed packs' \
            requirements. A check whose source is missing says "cannot tell" (WARN). virt-host-validate \
            qemu's lines each have a counterpart here (secure guests aside).

            Exit status: 0 when nothing FAILs, 1 otherwise.
            """)

    @OptionGroup var host: HostOptions

    func run() async throws {
        let root = try host.hostRoot()
        let runner = CommandRunner()
        let report = await HealthChecks.run(HealthContext(root: root, runner: runner, xen: await XenFacts.read(root, runner: runner)))
        try host.show(report, status: report.worst == .fail ? .failed : .success)
    }
}
