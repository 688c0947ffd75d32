import ArgumentParser
import Dom0Core

/// `host-prepare`: the operator's and first boot's front end.
struct HostPrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-prepare",
        abstract: Tool.hostPrepare.summary,
        discussion: """
            Try it first on the built-in demo host, which needs no Xen and touches nothing outside \
            the directory it is given:

              host-prepare demo [DIR]

            Then describe a host once (installer/examples/ has specs to start from) and let \
            host-prepare make it so:

              host-prepare plan host.yaml        what would change, module by module
              host-prepare apply host.yaml       make it so (resumable after a crash)
              host-prepare check host.yaml       health, and each module as the spec says

            At first boot, host-prepare-firstboot.service applies /etc/dom0kit/host.yaml once. The \
            operators' subcommands reach each capability directly: boot, dom0-sched, hugepages, disk, pack, \
            slice, health.

            Exit status: 0 done or nothing to do, 1 failed, 2 refused, 3 already installed (pack), \
            64 usage error.
            """,
        version: Dom0Kit.version,
        subcommands: [
            DemoLauncher.self, PlanHost.self, ApplyHost.self, CheckHost.self, FirstBoot.self, HealthCommand.self,
            BootCommand.self, Dom0SchedCommand.self, HugepagesCommand.self, DiskCommand.self, PackCommand.self, SliceCommand.self,
        ])
}
