import ArgumentParser
import Dom0Core
import PCIDevices

/// `pciback-agent`: binds hidden devices to pciback or vfio-pci.
struct PcibackAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pciback-agent",
        abstract: Tool.pcibackAgent.summary,
        discussion: """
            Hidden devices: those the running xen-pciback.hide= names (for pciback), and the rules of \
            /etc/dom0kit/pciback.conf, one per line:
              0000:04:00.*            pciback     an address, * for function or slot and function
              id 10de:1c81            vfio-pci    vendor:device[:subvendor:subdevice]
              class 0c03              pci-stub    a class (0300 display, 0c03 USB)
              vfs-of 0000:05:00.0     vfio-pci    the SR-IOV VFs of a physical function
            A device is bound with driver_override, unbind and drivers_probe (pciback's new_slot on \
            kernels without driver_override), and checked on its driver link. The controller of \
            dom0's root disk, the NIC of its default route and devices whose IOMMU group is not \
            viable for vfio-pci are refused unless --force.

            Exit status: 0 every hidden device bound, 1 a bind failed, 2 one was refused, 64 usage error.
            """,
        version: Dom0Kit.version,
        subcommands: [AgentRun.self, AgentOnce.self, AgentRestore.self, HealthCommand.self])
}

struct AgentRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run as a Type=notify daemon: bind every hidden device, then each one udev announces.",
        discussion: """
            One pass at start, then a pass whenever libudev reports PCI events (a hot-plugged card, \
            SR-IOV VFs being created, a device unbound behind the agent's back); if events were lost \
            (ENOBUFS) every device is rescanned. Tells systemd READY=1 and STATUS= ("3 hidden, 3 \
            bound, 0 pending"), WATCHDOG=1 when WatchdogSec= is set; writes the last pass to \
            /run/dom0kit/pciback.json; SIGHUP reloads the rules; SIGTERM stops it. Idle, it sleeps \
            in poll(2).
            """)
    @OptionGroup var host: HostOptions
    @Flag(help: "Bind even devices dom0 needs or whose IOMMU group is not viable (logged loudly).") var force = false

    func run() async throws {
        let root = try host.hostRoot()
        let reconciler = Reconciler(binder: Binder(root: root, sysfs: try host.sysfs(for: root)), force: force)
        try await PcibackAgent(reconciler: reconciler).run()
    }
}

struct AgentOnce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "once", abstract: "One reconcile pass over every hidden device, then exit (first boot, scripts).")
    @OptionGroup var host: HostOptions
    @Flag(help: "Bind even devices dom0 needs or whose IOMMU group is not viable (logged loudly).") var force = false
    @Flag(name: .customLong("dry-run"), help: "Say what would be bound; bind nothing.") var dryRun = false

    func run() async throws {
        let root = try host.hostRoot()
        let binder = Binder(root: root, sysfs: try host.sysfs(for: root))
        let report = try await Reconciler(binder: binder, force: force, dryRun: dryRun).reconcile(names: PCINames())
        try host.show(report, status: report.status)
    }
}

struct AgentRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Give devices back to dom0: clear driver_override and reprobe.")
    @OptionGroup var host: HostOptions
    @Argument(help: ArgumentHelp("PCI addresses.", valueName: "BDF")) var addresses: [String]

    func validate() throws {
        if addresses.isEmpty { throw ValidationError("restore needs PCI addresses") }
        for address in addresses where BDF(address) == nil { throw ValidationError("'\(address)' is not a PCI address (dddd:bb:dd.f)") }
    }

    func run() async throws {
        let root = try host.hostRoot()
        let binder = Binder(root: root, sysfs: try host.sysfs(for: root))
        var restored: [Restored] = []
        for address in addresses.compactMap({ BDF($0) }) {
            try await binder.restore(address)
            restored.append(Restored(device: address, driver: try PCIBus(root: binder.root).device(address)?.driver))
        }
        try host.show(report: restored, text: restored.map { "\($0.device): \($0.driver.map { "now on \($0)" } ?? "no driver took it")\n" }.joined())
    }
}

/// A device given back to dom0, and the driver that took it (nil: none did).
struct Restored: Encodable {
    var device: BDF
    var driver: String?
}
