import Glibc
import ArgumentParser
import Dom0Core

/// The tools of the multi-call binary; each name is also a symlink to `dom0kit`, and each tool
/// people run is an executable target of Package.swift (a test holds that list equal to this one).
public enum Tool: String, CaseIterable, Sendable {
    case hostPrepare = "host-prepare"
    case dom0Partition = "dom0-partition"
    case xenCmdline = "xen-cmdline"
    case suppPack = "supp-pack"
    case controlSlice = "control-slice"
    case pcibackAgent = "pciback-agent"
    case controlSliceGenerator = "control-slice-generator"

    /// The tools people run (each has a symlink in bin and a `swift run` target).
    public static let tools: [Tool] = allCases.filter { $0 != .controlSliceGenerator }

    /// Its commands as people type them after its name ("boot hide"; the tool's own name when
    /// it has no subcommands): every command a script can run, for the tests of the JSON contract.
    public var commandPaths: [String] {
        func leaves(_ command: any ParsableCommand.Type, _ path: [String]) -> [String] {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { return [path.isEmpty ? rawValue : path.joined(separator: " ")] }
            return subcommands.flatMap { leaves($0, path + [$0.configuration.commandName ?? ""]) }
        }
        return leaves(command, [])
    }

    /// The tool's root command.
    var command: any AsyncParsableCommand.Type {
        switch self {
        case .hostPrepare: HostPrepareCommand.self
        case .dom0Partition: Dom0PartitionCommand.self
        case .xenCmdline: XenCmdlineCommand.self
        case .suppPack: SuppPackCommand.self
        case .controlSlice: ControlSliceCommand.self
        case .controlSliceGenerator: ControlSliceGenerator.self
        case .pcibackAgent: PcibackAgentCommand.self
        }
    }

    /// Its one-line summary: its `--help` abstract and its line in `dom0kit --help`.
    var summary: String {
        switch self {
        case .hostPrepare: "Prepare a Xen host from one spec: planned, applied, checked."
        case .dom0Partition: "Plan and apply dom0 disk layouts (XS8, upgrade from the 4 GiB layout)."
        case .xenCmdline: "Read and edit the Xen and dom0 boot command lines."
        case .suppPack: "Verify, install, list and remove supplemental packs."
        case .controlSlice: "Put control-plane daemons in control.slice with more CPU than the datapath."
        case .pcibackAgent: "Bind hidden PCI devices to pciback or vfio-pci, and check the host's health."
        case .controlSliceGenerator: "The systemd generator of control.slice: writes the slice and drop-ins into NORMAL-DIR."
        }
    }
}

/// The entry point of every Dom0Kit executable.
public enum Dom0KitMain {
    /// The multi-call entry: the tool is the name the binary was invoked as (`xen-cmdline` via a
    /// symlink), or the first argument when invoked as `dom0kit`.
    public static func main(_ arguments: [String] = CommandLine.arguments) async -> Never {
        let invokedAs = arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
        if let tool = Tool(rawValue: invokedAs) {
            await run(tool, Array(arguments.dropFirst()))
        }
        let rest = Array(arguments.dropFirst())
        if let first = rest.first, let tool = Tool(rawValue: first) {
            await run(tool, Array(rest.dropFirst()))
        }
        switch rest.first {
        case nil, "-h", "--help", "help":
            print(usage, terminator: "")
            exit(rest.isEmpty ? ExitStatus.usage.rawValue : ExitStatus.success.rawValue)
        case "--version":
            print(Dom0Kit.version)
            exit(ExitStatus.success.rawValue)
        case "--list-tools":
            // For the installer and packagers: the symlinks to make, one name per line.
            print(Tool.tools.map { "\($0.rawValue)\n" }.joined(), terminator: "")
            exit(ExitStatus.success.rawValue)
        case let other?:
            let error = Dom0Error(.usage, "unknown tool '\(other)'", fix: "run `dom0kit --help` for the list")
            if rest.contains("--json") { CommandOutput.showFailure(error) }
            fail("dom0kit", error)
        }
    }

    /// Runs one tool with its arguments and exits with the exit status of docs/design.md, principle 8.
    public static func run(_ tool: Tool, _ arguments: [String]) async -> Never {
        await run(tool.command, named: tool.rawValue, arguments)
    }

    /// Runs a command (a tool, or a program beside them such as the demo) and exits with
    /// the exit status of docs/design.md, principle 8.
    public static func run(_ command: any AsyncParsableCommand.Type, named name: String, _ arguments: [String]) async -> Never {
        let invocation = Invocation.of(command, named: name, arguments)
        let status = await Invocation.$current.withValue(invocation) { await outcome(command, invocation, arguments) }
        exit(status.rawValue)
    }

    /// Runs the command and says how it ended; ArgumentParser's help, version and usage errors it
    /// renders and exits with itself.
    private static func outcome(_ command: any AsyncParsableCommand.Type, _ invocation: Invocation,
                                _ arguments: [String]) async -> ExitStatus {
        // With --json, every outcome is an envelope on stdout: a failure too (stderr keeps the text).
        let json = arguments.prefix { $0 != "--" }.contains("--json")
        do {
            var parsed = try command.parseAsRoot(arguments)
            Dom0Logging.bootstrap(tool: invocation.tool, level: HostOptions.logLevel(verbosity: verbosity(arguments)))
            if var asynchronous = parsed as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try parsed.run()
            }
            return .success
        } catch let shown as Shown {
            if let error = shown.error { tell(invocation.tool, error) }
            return shown.status
        } catch let error as Dom0Error {
            if json { CommandOutput.showFailure(error) }
            tell(invocation.tool, error)
            return error.status
        } catch {
            // Help, --version, usage errors (exit 64) and ExitCode: ArgumentParser's own rendering,
            // and with --json a usage error's envelope first.
            let code = command.exitCode(for: error)
            if json, !code.isSuccess, !(error is ExitCode) {
                let what = command.message(for: error).split(separator: "\n").first.map(String.init) ?? "usage error"
                CommandOutput.showFailure(Dom0Error(ExitStatus(rawValue: code.rawValue) ?? .usage, what,
                                                    fix: "see \(invocation.helpCommand)"))
            }
            command.exit(withError: error)
        }
    }

    /// How many -v the arguments hold (-v, -vv, --verbose), counted before parsing so that
    /// choosing the log level costs no dynamic cast of the parsed command.
    static func verbosity(_ arguments: [String]) -> Int {
        arguments.prefix { $0 != "--" }.reduce(0) { count, argument in
            if argument == "--verbose" { return count + 1 }
            if argument.hasPrefix("-"), !argument.hasPrefix("--"), argument.dropFirst().allSatisfy({ $0 == "v" }) {
                return count + argument.count - 1
            }
            return count
        }
    }

    private static func fail(_ tool: String, _ error: Dom0Error) -> Never {
        tell(tool, error)
        exit(error.status.rawValue)
    }

    /// The error for people, on stderr.
    private static func tell(_ tool: String, _ error: Dom0Error) {
        var standardError = StandardError()
        standardError.write("\(tool): error: \(error)\n")
    }

    static var usage: String {
        var text = """
            dom0kit \(Dom0Kit.version): prepare Xen hosts and keep their control domain healthy.

            Usage: dom0kit TOOL [ARGUMENTS...]
                   TOOL [ARGUMENTS...]      (through the symlink named after the tool)

            Tools:

            """
        for tool in Tool.tools { text += "  \(tool.rawValue.padding(16))\(tool.summary)\n" }
        text += "\nAlso, as systemd runs it from its generators directory:\n"
        text += "  \(Tool.controlSliceGenerator.rawValue) NORMAL-DIR [EARLY-DIR LATE-DIR]\n"
        text += "\nRun `dom0kit TOOL --help` for a tool's options; start with `host-prepare demo`.\n"
        text += "`dom0kit --list-tools` prints the tools' names, one per line, for installers.\n"
        return text
    }
}
