/// A capability of Dom0Kit: one tool over one library module.
public struct Capability: Sendable {
    /// The tool that offers it.
    public var tool: String
    /// What it does, in one line (the tool's `--help` abstract).
    public var summary: String

    /// The capabilities, in the order a host is prepared (host-prepare's safe order).
    public static let all: [Capability] = [
        Capability(tool: "dom0-partition", summary: "Plan and apply dom0 disk layouts (XS8, upgrade from the 4 GiB layout)."),
        Capability(tool: "supp-pack", summary: "Verify, install, list and remove supplemental packs."),
        Capability(tool: "xen-cmdline", summary: "Read and edit the Xen and dom0 boot command lines."),
        Capability(tool: "control-slice", summary: "Put control-plane daemons in control.slice with more CPU than the datapath."),
        Capability(tool: "pciback-agent", summary: "Bind hidden PCI devices to pciback or vfio-pci, and check the host's health."),
    ]

    /// The capability a tool offers.
    public static func named(_ tool: String) -> Capability? { all.first { $0.tool == tool } }
}
