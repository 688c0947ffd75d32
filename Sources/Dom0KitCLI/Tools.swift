import ArgumentParser
import Dom0Core
import HostSpec

// The tools whose capabilities have not landed yet. Each keeps its real name, purpose and help
// so scripts and people meet the final interface; each issue replaces one with the real command.

/// `pciback-agent`: binding hidden devices, and health.
enum PcibackAgentSpec: PendingCommandSpec {
    static let fullName = "pciback-agent"
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: fullName, abstract: abstract(fullName),
            discussion: pendingDiscussion("""
                A udev-triggered agent that binds devices hidden from dom0 to pciback (Xen) or vfio-pci (KVM) \
                at boot, on hot-plug and when SR-IOV VFs appear, and reports whether the host is fit for \
                passthrough.
                """),
            version: Dom0Kit.version)
    }
}

/// The one-line summary of a tool, from the capability list (one source for help and the demo).
func abstract(_ tool: String) -> String {
    Capability.named(tool)?.summary ?? ""
}
