import ArgumentParser
import Dom0Core
import HostSpec

// The tools whose capabilities have not landed yet. Each keeps its real name, purpose and help
// so scripts and people meet the final interface; each issue replaces one with the real command.

/// `supp-pack`: supplemental packs.
enum SuppPackSpec: PendingCommandSpec {
    static let fullName = "supp-pack"
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: fullName, abstract: abstract(fullName),
            discussion: pendingDiscussion("""
                Reads supplemental pack ISOs (XS-REPOSITORY and update-style), checks their checksums and \
                requirements, installs their RPMs or debs into the host root, and records them in \
                /etc/xensource/installed-repos.
                """),
            version: Dom0Kit.version)
    }
}

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
