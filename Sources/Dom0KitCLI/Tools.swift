import ArgumentParser
import Dom0Core
import HostSpec

// The tools whose capabilities have not landed yet. Each keeps its real name, purpose and help
// so scripts and people meet the final interface; each issue replaces one with the real command.

/// `pciback-agent run`: the udev-driven daemon.
enum AgentRunSpec: PendingCommandSpec {
    static let fullName = "pciback-agent run"
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "run", abstract: "Run as a Type=notify daemon, binding devices as udev announces them.",
            discussion: pendingDiscussion("""
                Reconciles every device at start, then follows libudev's pci events (add, bind, unbind, \
                SR-IOV VFs), with sd_notify status and SIGHUP reloading the rules.
                """))
    }
}

/// The one-line summary of a tool, from the capability list (one source for help and the demo).
func abstract(_ tool: String) -> String {
    Capability.named(tool)?.summary ?? ""
}
