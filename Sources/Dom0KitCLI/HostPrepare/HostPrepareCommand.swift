import ArgumentParser
import Dom0Core

/// `host-prepare`: the operator's and first boot's front end.
struct HostPrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host-prepare",
        abstract: "Prepare a Xen host from one spec: planned, applied, checked.",
        discussion: """
            Try it first on the built-in demo host, which needs no Xen and touches nothing outside \
            the directory it is given:

              host-prepare demo [DIR]

            The other subcommands arrive with their capabilities; until then they fail with \
            "not implemented yet" (exit 1).

            Exit status: 0 done or nothing to do, 1 failed, 2 refused, 64 usage error.
            """,
        version: Dom0Kit.version,
        subcommands: [
            DemoCommand.self,
            Pending<PlanSpec>.self, Pending<ApplySpec>.self, Pending<CheckSpec>.self, HealthCommand.self,
            BootCommand.self, Pending<DiskSpec>.self, Pending<PackSpec>.self, Pending<SliceSpec>.self,
        ])
}

/// Declares a host-prepare subcommand that is not built yet.
private func subcommand(_ name: String, _ abstract: String, _ discussion: String) -> CommandConfiguration {
    CommandConfiguration(commandName: name, abstract: abstract, discussion: pendingDiscussion(discussion))
}

enum PlanSpec: PendingCommandSpec {
    static let fullName = "host-prepare plan"
    static let configuration = subcommand("plan", "Show what a host spec would change, module by module.",
                                          "host-prepare plan SPEC [--root DIR] [--json]")
}

enum ApplySpec: PendingCommandSpec {
    static let fullName = "host-prepare apply"
    static let configuration = subcommand("apply", "Make the host match a spec, resumably.",
                                          "host-prepare apply SPEC [--root DIR] [--reboot]")
}

enum CheckSpec: PendingCommandSpec {
    static let fullName = "host-prepare check"
    static let configuration = subcommand("check", "Check the host against a spec.", "host-prepare check SPEC; exit 1 on FAIL.")
}

enum DiskSpec: PendingCommandSpec {
    static let fullName = "host-prepare disk"
    static let configuration = subcommand("disk", "Plan and apply the dom0 disk layout.", "Over dom0-partition's library.")
}

enum PackSpec: PendingCommandSpec {
    static let fullName = "host-prepare pack"
    static let configuration = subcommand("pack", "Install and list supplemental packs.", "Over supp-pack's library.")
}

enum SliceSpec: PendingCommandSpec {
    static let fullName = "host-prepare slice"
    static let configuration = subcommand("slice", "Manage control.slice.", "Over control-slice's library.")
}
