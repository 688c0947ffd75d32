import ArgumentParser
import Dom0Core

/// What a command not built yet is: its help text, so `--help` still teaches what it will do.
protocol PendingCommandSpec {
    /// Name, abstract and discussion.
    static var configuration: CommandConfiguration { get }
    /// The name people type ("host-prepare boot"), for the error.
    static var fullName: String { get }
}

/// A command whose capability has not landed: it parses the common options, accepts any
/// arguments, and fails with a clear "not implemented yet" (exit 1) instead of faking output.
struct Pending<Spec: PendingCommandSpec>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { Spec.configuration }

    @OptionGroup var host: HostOptions

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() async throws {
        _ = try host.hostRoot()
        throw Dom0Error.notImplemented(Spec.fullName)
    }
}

/// The discussion of a pending command: what it will do, and that this build lacks it.
func pendingDiscussion(_ text: String) -> String {
    text + "\n\nNot implemented yet in Dom0Kit \(Dom0Kit.version): running it fails with exit status 1."
}
